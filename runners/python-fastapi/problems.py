"""The canonical error replies (RFC 9457 problem details) of fixtures/README.md, as FastAPI
exception handlers: every HTTPException and RequestValidationError ends up here."""

import json
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

PROBLEM_JSON = "application/problem+json"

_CANONICAL = {
    400: ("urn:benchmark-harness:malformed-body", "Malformed request body"),
    413: ("urn:benchmark-harness:payload-too-large", "Payload too large"),
    415: ("urn:benchmark-harness:unsupported-media-type", "Unsupported media type"),
    422: ("urn:benchmark-harness:validation-error", "Request validation failed"),
}
# FastAPI's loc prefixes, in the order errors are sorted by.
_LOCATIONS = {"path": "path", "query": "query", "header": "headers", "cookie": "cookies",
              "body": "body"}
_ORDER = list(_LOCATIONS.values())


def dumps(value) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def problem(status: int, headers: dict | None = None, **extra) -> Response:
    kind, title = _CANONICAL.get(status, ("about:blank", HTTPStatus(status).phrase))
    body = {"type": kind, "title": title, "status": status, **extra}
    return Response(dumps(body), status, headers=headers, media_type=PROBLEM_JSON)


def pointer(path) -> str:
    """The JSON pointer of a pydantic location (`("address", "zip")` -> `/address/zip`)."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)


def validation_entries(errors) -> list[dict]:
    """FastAPI/pydantic errors as README entries: sorted by location then pointer, one per
    (location, pointer)."""
    entries: dict[tuple[int, str], dict] = {}
    for error in errors:
        where, *path = error["loc"]
        location = _LOCATIONS[where]
        key = (_ORDER.index(location), pointer(path))
        entries.setdefault(key, {"in": location, "pointer": key[1], "message": error["msg"]})
    return [entries[key] for key in sorted(entries)]


async def on_validation_error(request: Request, exc: RequestValidationError) -> Response:
    errors = exc.errors()
    if any(error["type"] == "json_invalid" for error in errors):
        return problem(400)
    return problem(422, errors=validation_entries(errors))


async def on_http_error(request: Request, exc: HTTPException) -> Response:
    if exc.status_code in (204, 304) or exc.status_code < 200:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return problem(exc.status_code, headers=exc.headers)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
