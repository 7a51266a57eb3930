"""Multipart bodies (fixtures/README.md, "Multipart bodies") from Spikard's own multipart parser.

Spikard parses a `multipart/form-data` body before the handler into one JSON object: a text
part as its string, a file part as `{"filename", "content_type", "size", "content"}` with the
bytes as text when they are UTF-8 and as base64 otherwise. The route declares no body schema:
with one, Spikard 0.17.2 re-encodes the parts as JSON, decoding file bytes as lossy UTF-8 (a
PNG loses its first byte), does not coerce fields by the schema (`"4"` is not an integer) and
ignores `file_params_json` (no required, type or size check). So this module coerces and
validates the fields (as the runner's urlencoded forms are, by the README's rules, with
`jsonschema`) and checks the files, answering the canonical 422.

Spikard keeps one part per name, the last: a second file of a `multiple` entry replaces the
first, and a repeated field takes its last value (README.md, "Divergences").
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker

_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


def coerce(value: str, schema: dict[str, Any]) -> Any:
    """A field's string coerced by its schema's type (the README's rules), or left as is."""
    kind = schema.get("type")
    if kind == "array":
        return [coerce(value, schema.get("items") or {})]
    if kind == "integer" and _INTEGER.fullmatch(value):
        return int(value)
    if kind == "number" and _NUMBER.fullmatch(value):
        number = float(value)
        return int(number) if _INTEGER.fullmatch(value) else number
    if kind == "boolean" and value in ("true", "false"):
        return value == "true"
    return value


def file_bytes(part: dict[str, Any]) -> bytes:
    """A file's bytes: Spikard sends them as text when they are UTF-8, else as base64. The two
    never have the same length for a non-empty file, so the size tells which it is."""
    content = part.get("content") or ""
    raw = content.encode("utf-8")
    return raw if len(raw) == part.get("size", len(raw)) else base64.b64decode(content)


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";")[0].strip().lower()


def _pointer(*parts: Any) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


class MultipartBody:
    """One handler's multipart `body`: field schema and file entries."""

    def __init__(self, body: dict[str, Any]) -> None:
        self.schema: dict[str, Any] = body.get("schema") or {"type": "object"}
        self.properties: dict[str, Any] = self.schema.get("properties") or {}
        self.files: dict[str, Any] = body.get("files") or {}
        self.validator = Draft202012Validator(self.schema, format_checker=FormatChecker())

    def read(self, parts: dict[str, Any]) -> tuple[dict[str, Any] | None, list[tuple[str, str]]]:
        """(echo of the body, errors as (pointer, message)) for the parts Spikard parsed."""
        fields: dict[str, Any] = {}
        for name, value in parts.items():
            if isinstance(value, dict) or name in self.files:
                continue  # a file part, or a text part where a file is declared
            if name in self.properties:
                fields[name] = coerce(value, self.properties[name])
            elif not self.properties:
                fields[name] = value
        for name, sub in self.properties.items():
            if name not in fields and isinstance(sub, dict) and "default" in sub:
                fields[name] = sub["default"]
        errors = self._field_errors(fields)
        files: dict[str, Any] = {}
        for name, spec in self.files.items():
            part = parts.get(name)
            uploads = [part] if isinstance(part, dict) else []
            for index, upload in enumerate(uploads):
                problem = self._file_problem(upload, spec)
                if problem:
                    where = (name, index) if spec.get("multiple") else (name,)
                    errors.append((_pointer(*where), problem))
            if spec.get("multiple"):
                files[name] = [self._describe(upload) for upload in uploads]
            elif uploads:
                files[name] = self._describe(uploads[0])
            elif spec.get("required", True):
                errors.append((_pointer(name), "a file is required"))
        if errors:
            return None, errors
        return {"fields": fields, "files": files}, []

    def _field_errors(self, fields: dict[str, Any]) -> list[tuple[str, str]]:
        found: list[tuple[str, str]] = []
        for error in self.validator.iter_errors(fields):
            path = list(error.absolute_path)
            missing = re.match(r"'(.*)' is a required property", error.message)
            if error.validator == "required" and missing:
                path.append(missing.group(1))
            found.append((_pointer(*path), error.message))
        return found

    @staticmethod
    def _file_problem(upload: dict[str, Any], spec: dict[str, Any]) -> str | None:
        allowed = [_media_type(kind) for kind in spec.get("content_types", [])]
        if "max_bytes" in spec and upload.get("size", 0) > spec["max_bytes"]:
            return f"file larger than {spec['max_bytes']} bytes"
        if allowed and _media_type(upload.get("content_type")) not in allowed:
            return f"file type {upload.get('content_type')} is not one of {allowed}"
        return None

    @staticmethod
    def _describe(upload: dict[str, Any]) -> dict[str, Any]:
        data = file_bytes(upload)
        return {"filename": upload.get("filename"), "content_type": upload.get("content_type"),
                "size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
