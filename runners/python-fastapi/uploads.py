"""Multipart bodies (fixtures/README.md, "Multipart bodies").

The body is one `Form()` parameter, so FastAPI parses the request with Starlette's
`request.form()` (python-multipart: text parts as strings, file parts as `UploadFile`s spooled
to disk past 1 MiB, a broken body a 400) and hands the parts to pydantic, which validates the
fields and files of one model; its errors are FastAPI's, at `("body", name)` or
`("body", name, index)`, merged with those of the other locations.

FastAPI's per-field `Form()`/`File()` parameters are not used: they take the last of repeated
fields and treat an empty field as missing, where the vocabulary takes the first and keeps the
empty string (as for urlencoded forms, see schema.py). So the parameter's model declares no field
of its own: FastAPI then passes every part, in order, repeated names as lists, and `_select`
picks them as the vocabulary says before the real model validates.
"""

import hashlib
from typing import Annotated, Any

from fastapi import Form, UploadFile
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, TypeAdapter, WrapValidator, create_model
from pydantic_core import PydanticCustomError

from schema import is_array, pydantic_type

_READ_CHUNK = 64 * 1024


class Parts(BaseModel):
    """What FastAPI hands a `Form()` model without fields: every part by name, a list when the
    name is repeated, files as `UploadFile`s."""

    model_config = ConfigDict(extra="allow")


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _file_type(spec: dict) -> Any:
    """An `UploadFile` within the entry's `max_bytes` and `content_types`."""
    max_bytes = spec.get("max_bytes")
    allowed = [_media_type(kind) for kind in spec.get("content_types", [])]

    def check(upload: UploadFile) -> UploadFile:
        if max_bytes is not None and (upload.size or 0) > max_bytes:
            raise PydanticCustomError("file_too_large", "File larger than {max} bytes",
                                      {"max": max_bytes})
        if allowed and _media_type(upload.content_type) not in allowed:
            raise PydanticCustomError("file_type", "File type {kind} is not one of {allowed}",
                                      {"kind": upload.content_type, "allowed": allowed})
        return upload

    return Annotated[UploadFile, AfterValidator(check)]


async def describe(upload: UploadFile) -> dict[str, Any]:
    """A file as the echo shows it, its SHA-256 read from Starlette's spooled file."""
    digest = hashlib.sha256()
    await upload.seek(0)
    while chunk := await upload.read(_READ_CHUNK):
        digest.update(chunk)
    return {"filename": upload.filename, "content_type": upload.content_type,
            "size": upload.size, "sha256": digest.hexdigest()}


class Multipart:
    """A validated multipart body: coerced fields and `UploadFile`s."""

    def __init__(self, fields: dict[str, Any], files: dict[str, Any]):
        self.fields, self.files = fields, files

    async def echo(self) -> dict[str, Any]:
        files: dict[str, Any] = {}
        for name, value in self.files.items():
            if isinstance(value, list):
                files[name] = [await describe(upload) for upload in value]
            else:
                files[name] = await describe(value)
        return {"fields": self.fields, "files": files}


class MultipartBody:
    """One handler's multipart `body`: its pydantic model and the `Form()` parameter type."""

    def __init__(self, body: dict):
        self.schema = body.get("schema") or {"type": "object"}
        self.properties: dict = self.schema.get("properties") or {}
        self.files: dict = body.get("files") or {}
        self.required = body.get("required", True)
        required = set(self.schema.get("required", []))
        definitions: dict[str, Any] = {}
        for index, (name, sub) in enumerate(self.properties.items()):
            default = ... if name in required else None
            definitions[f"f{index}"] = (pydantic_type(sub, coerce=True), Field(default, alias=name))
        for index, (name, spec) in enumerate(self.files.items()):
            kind = _file_type(spec)
            if spec.get("multiple", False):
                definitions[f"file{index}"] = (list[kind], Field(default_factory=list, alias=name))
            else:
                default = ... if spec.get("required", True) else None
                definitions[f"file{index}"] = (kind, Field(default, alias=name))
        # Without declared properties every field is kept, as a string.
        config = ConfigDict(strict=True, validate_by_alias=True, validate_by_name=False,
                            extra="ignore" if self.properties else "allow")
        self.model = create_model("MultipartBody", __config__=config, **definitions)
        self.adapter = TypeAdapter(self.model)
        self.field_names = {f"f{index}" for index in range(len(self.properties))}

    def parameter_type(self) -> Any:
        return Annotated[Parts, WrapValidator(self.validate), Form()]

    def _select(self, parts: dict[str, Any]) -> dict[str, Any]:
        """The document to validate: declared fields coerced like form fields (the first of a
        repeated scalar, every one for an array, defaults; every field as a string when none is
        declared), declared files (the first, or all for `multiple`); the rest ignored."""
        document: dict[str, Any] = {}
        for name, value in parts.items():
            values = value if isinstance(value, list) else [value]
            texts = [v for v in values if isinstance(v, str)]
            uploads = [v for v in values if not isinstance(v, str)]
            if name in self.files:
                if self.files[name].get("multiple", False):
                    document[name] = uploads
                elif uploads:
                    document[name] = uploads[0]
            elif name in self.properties:
                if is_array(self.properties[name]):
                    document[name] = texts
                elif texts:
                    document[name] = texts[0]
            elif not self.properties and texts:
                document[name] = texts[0]
        for name, sub in self.properties.items():
            if name not in document and isinstance(sub, dict) and "default" in sub:
                document[name] = sub["default"]
        return document

    def validate(self, parts: Any, _handler: Any) -> Multipart | None:
        """Validates the parts FastAPI passes (see the module doc). No part at all is no body."""
        if not parts:
            if self.required:
                raise PydanticCustomError("missing", "Field required")
            return None
        model = self.adapter.validate_python(self._select(parts))
        if self.properties:
            fields = model.model_dump(mode="json", by_alias=True, exclude_unset=True,
                                      include=self.field_names)
        else:
            fields = {k: v for k, v in (model.model_extra or {}).items() if k not in self.files}
        files = {}
        for index, (name, spec) in enumerate(self.files.items()):
            value = getattr(model, f"file{index}")
            if value is not None:
                files[name] = value
        return Multipart(fields, files)
