"""Fixture JSON Schemas as pydantic types, and the README's coercion of string inputs.

`pydantic_type(schema)` turns the JSON Schema vocabulary of the fixtures (types, properties,
required, additionalProperties, items, enum, const, bounds, lengths, pattern, format,
min/maxProperties) into an `Annotated` pydantic type in strict mode, so FastAPI validates with
pydantic. A sub-schema using anything else is checked by the `jsonschema` package instead (its
errors then point at that sub-schema's value). With `coerce=True` (path, query, headers,
cookies, form fields) a scalar first goes through the README's coercion: integer from
`-?[0-9]+`, number from a JSON number literal, boolean from `true`/`false`; a string that does
not coerce stays a string and fails the strict type check at its own pointer.
"""

import datetime
import json
import math
import re
from itertools import count
from typing import Annotated, Any
from urllib.parse import parse_qsl

import annotated_types as at
import jsonschema
from pydantic import (
    AfterValidator,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StringConstraints,
    create_model,
)
from pydantic_core import PydanticCustomError

# Keywords that carry no validation.
_ANNOTATIONS = {"title", "description", "examples", "$comment", "default"}
# Keywords the translation understands; any other sends the sub-schema to `jsonschema`.
_KNOWN = _ANNOTATIONS | {
    "type", "properties", "required", "additionalProperties", "items", "minItems", "maxItems",
    "enum", "const", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
    "multipleOf", "minLength", "maxLength", "pattern", "format", "minProperties",
    "maxProperties",
}

_INTEGER = re.compile(r"-?[0-9]+")
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_DATE_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.[0-9]+)?(?:[Zz]|[+-][0-9]{2}:[0-9]{2})"
)
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+")
_model_ids = count()


# --- coercion of string inputs ------------------------------------------------------------


def _to_integer(value: Any) -> Any:
    if isinstance(value, str) and _INTEGER.fullmatch(value):
        return int(value)
    return value


def _to_number(value: Any) -> Any:
    if isinstance(value, str) and _NUMBER.fullmatch(value):
        if _INTEGER.fullmatch(value):
            return int(value)
        number = float(value)
        return number if math.isfinite(number) else value
    return value


def _to_boolean(value: Any) -> Any:
    return {"true": True, "false": False}.get(value, value) if isinstance(value, str) else value


_COERCIONS = {"integer": _to_integer, "number": _to_number, "boolean": _to_boolean}


def scalar_type(schema: dict) -> str | None:
    """The scalar type of a parameter schema, or of its items for an array."""
    if schema.get("type") == "array":
        schema = schema.get("items") or {}
    kind = schema.get("type")
    return kind if isinstance(kind, str) else None


def is_array(schema: dict) -> bool:
    return schema.get("type") == "array"


# --- formats ------------------------------------------------------------------------------


def _parses(parse, text: str) -> bool:
    try:
        parse(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return True
    except ValueError:
        return False


_FORMATS = {
    "uuid": lambda s: bool(_UUID.fullmatch(s)),
    "date": lambda s: bool(_DATE.fullmatch(s)) and _parses(datetime.date.fromisoformat, s),
    "date-time": lambda s: bool(_DATE_TIME.fullmatch(s))
    and _parses(datetime.datetime.fromisoformat, s),
    "email": lambda s: bool(_EMAIL.fullmatch(s)),
}


def _format_check(name: str):
    check = _FORMATS.get(name)

    def validate(value: str) -> str:
        if check is not None and not check(value):
            raise PydanticCustomError("format", "Input is not a valid {format}", {"format": name})
        return value

    return AfterValidator(validate)


# --- translation --------------------------------------------------------------------------


def _fallback(schema: Any) -> Any:
    """A sub-schema outside the translated vocabulary: validated by `jsonschema`."""
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )

    def validate(value: Any) -> Any:
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            raise PydanticCustomError("json_schema", "{message}", {"message": error.message})
        return value

    return Annotated[Any, AfterValidator(validate)]


def _translatable(schema: Any) -> bool:
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict) or not set(schema) <= _KNOWN:
        return False
    kind = schema.get("type")
    if kind is None:
        return set(schema) <= _ANNOTATIONS
    if kind not in ("string", "integer", "number", "boolean", "null", "array", "object"):
        return False
    extra = schema.get("additionalProperties", True)
    if kind == "object" and not isinstance(extra, bool):
        return False
    values = schema.get("enum", []) + ([schema["const"]] if "const" in schema else [])
    return all(isinstance(v, (str, int, float, bool)) or v is None for v in values)


def pydantic_type(schema: Any, *, coerce: bool = False) -> Any:
    """The pydantic type validating what `schema` accepts (see the module doc)."""
    if not _translatable(schema):
        return _fallback(schema)
    if schema is True or schema.get("type") is None:
        return Any
    kind = schema["type"]
    if kind == "object":
        return _object_type(schema, coerce)
    meta: list[Any] = []
    if kind == "array":
        item = pydantic_type(schema.get("items", True), coerce=coerce)
        base: Any = list[item]
        meta.append(Strict())
        if "minItems" in schema:
            meta.append(at.MinLen(schema["minItems"]))
        if "maxItems" in schema:
            meta.append(at.MaxLen(schema["maxItems"]))
        return Annotated[base, *meta]
    base = {"string": str, "integer": int, "number": float, "boolean": bool, "null": None}[kind]
    if coerce and kind in _COERCIONS:
        meta.append(BeforeValidator(_COERCIONS[kind]))
    if base is not None:
        meta.append(Strict())
    bounds = [("minimum", at.Ge), ("maximum", at.Le), ("exclusiveMinimum", at.Gt),
              ("exclusiveMaximum", at.Lt), ("multipleOf", at.MultipleOf)]
    meta.extend(make(schema[key]) for key, make in bounds if key in schema)
    if any(key in schema for key in ("minLength", "maxLength", "pattern")):
        meta.append(StringConstraints(
            min_length=schema.get("minLength"), max_length=schema.get("maxLength"),
            pattern=schema.get("pattern"),
        ))
    if "format" in schema:
        meta.append(_format_check(schema["format"]))
    allowed = schema.get("enum")
    if "const" in schema:
        allowed = [schema["const"]]
    if allowed is not None:
        # The type check first (strict), then membership.
        meta.append(AfterValidator(_one_of(allowed)))
    return Annotated[base, *meta] if meta else base


def _one_of(allowed: list) -> Any:
    def validate(value: Any) -> Any:
        if not any(_same(value, a) for a in allowed):
            raise PydanticCustomError(
                "enum", "Input should be one of {expected}", {"expected": json.dumps(allowed)}
            )
        return value

    return validate


def _same(a: Any, b: Any) -> bool:
    """JSON equality: 1 == 1.0, but true != 1."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return a == b and (type(a) is type(b) or all(isinstance(x, (int, float)) for x in (a, b)))


def _object_type(schema: dict, coerce: bool) -> Any:
    meta: list[Any] = []
    if "minProperties" in schema or "maxProperties" in schema:
        meta.append(BeforeValidator(_property_count(schema)))
    properties = schema.get("properties")
    if not properties:
        extra = schema.get("additionalProperties", True)
        return Annotated[dict[str, Any], Strict(), *meta, *([at.MaxLen(0)] if extra is False else [])]
    required = set(schema.get("required", []))
    fields: dict[str, Any] = {}
    for index, (name, sub) in enumerate(properties.items()):
        field_type = pydantic_type(sub, coerce=coerce)
        if name in required:
            fields[f"f{index}"] = (field_type, Field(alias=name))
        else:
            # Absent stays unset (left out of the echo); an explicit null is still checked.
            fields[f"f{index}"] = (field_type, Field(default=None, alias=name))
    missing = required - set(properties)
    if missing:  # required without a declared property: any value, but present
        for offset, name in enumerate(sorted(missing), start=len(properties)):
            fields[f"f{offset}"] = (Any, Field(alias=name))
    config = ConfigDict(
        strict=True,
        extra="forbid" if schema.get("additionalProperties", True) is False else "allow",
        validate_by_alias=True,
        validate_by_name=False,
        serialize_by_alias=True,
    )
    model = create_model(f"Object{next(_model_ids)}", __config__=config, **fields)
    return Annotated[model, *meta] if meta else model


def _property_count(schema: dict):
    low, high = schema.get("minProperties", 0), schema.get("maxProperties")

    def validate(value: Any) -> Any:
        if isinstance(value, dict) and (len(value) < low or (high is not None and len(value) > high)):
            raise PydanticCustomError(
                "property_count", "Object should have from {low} to {high} properties",
                {"low": low, "high": "any number of" if high is None else high},
            )
        return value

    return validate


# --- request bodies -----------------------------------------------------------------------


def _json_from_bytes(value: Any) -> Any:
    """JSON types FastAPI does not parse itself (`text/x+json`) arrive as bytes."""
    if isinstance(value, (bytes, bytearray)):
        try:
            return json.loads(value)
        except ValueError as error:
            raise PydanticCustomError("json_invalid", "JSON decode error") from error
    return value


def _text_from_bytes(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return value.decode("utf-8")  # checked before, in the route (400)
    return value


def _form_from_bytes(schema: dict):
    """Decodes an urlencoded body into the object of its declared fields, coerced later by the
    field types: first occurrence of a scalar, every occurrence of an array, defaults applied.
    Without declared properties, every field (first occurrence) as a string."""
    properties: dict = schema.get("properties") or {}

    def decode(value: Any) -> Any:
        if not isinstance(value, (bytes, bytearray)):
            return value
        pairs = parse_qsl(value.decode("utf-8"), keep_blank_values=True)
        form: dict[str, Any] = {}
        for key, text in pairs:
            declared = properties.get(key)
            if declared is not None and is_array(declared):
                form.setdefault(key, []).append(text)
            elif declared is not None or not properties:
                form.setdefault(key, text)
        for key, declared in properties.items():
            if key not in form and isinstance(declared, dict) and "default" in declared:
                form[key] = declared["default"]
        return form

    return decode


def body_type(media: str, schema: Any) -> Any:
    """The pydantic type of a request body of `media` ("json", "form" or "text")."""
    if media == "json":
        return Annotated[pydantic_type(schema if schema is not None else True),
                         BeforeValidator(_json_from_bytes)]
    if media == "text":
        inner = pydantic_type(schema) if schema is not None else Annotated[str, Strict()]
        return Annotated[inner, BeforeValidator(_text_from_bytes)]
    schema = schema if schema is not None else {"type": "object"}
    inner = pydantic_type(schema, coerce=True)
    return Annotated[inner, BeforeValidator(_form_from_bytes(schema))]
