"""REST handlers as FastAPI path operations.

Each handler becomes one endpoint whose signature declares its typed parameters (`Path`,
`Query`, `Header`, `Cookie`, `Body`, with the pydantic types of `schema.py`), so FastAPI parses
and validates the request and raises `RequestValidationError` for `problems.py` to answer.
`RestRoute` adds what FastAPI does not do by itself, before it reads anything: the body checks
in the README's order (413, 415, 400 for non-UTF-8 text) and "first occurrence wins" for
repeated scalar query keys and cookies (Starlette keeps the last).
"""

import inspect
import re
from typing import Annotated, Any, Callable
from urllib.parse import unquote_plus

from fastapi import Body, Cookie, FastAPI, Header, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from starlette.exceptions import HTTPException

from problems import dumps
from schema import body_type, is_array, pydantic_type

# Bodies of handlers without `max_bytes` are still bounded.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024

_CAPTURE = re.compile(r"\{([^}:]+)(?::([a-z]+))?\}")
_CAPTURE_SCHEMAS = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "uuid": {"type": "string", "format": "uuid"},
}
_LOCATIONS = [("query", Query), ("headers", Header), ("cookies", Cookie)]


def parse_route(route: str) -> tuple[str, list[tuple[str, str]]]:
    """`/items/{id:int}` -> (`/items/{id}`, [("id", "int")]): FastAPI path params are untyped
    here, so that a value that does not coerce is a 422 rather than a 404."""
    captures = [(name, kind or "str") for name, kind in _CAPTURE.findall(route)]
    for name, kind in captures:
        if not name.isidentifier() or name.startswith("p__") or kind not in _CAPTURE_SCHEMAS:
            raise ValueError(f"route {route!r}: unsupported capture {{{name}:{kind}}}")
    return _CAPTURE.sub(lambda m: "{" + m.group(1) + "}", route), captures


def _parameter(name: str, annotation: Any, default: Any = inspect.Parameter.empty):
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation,
                             default=default)


class RestHandler:
    """One fixture `handler`: its endpoint signature, checks and reply."""

    def __init__(self, handler: dict):
        self.path, captures = parse_route(handler["route"])
        params = handler.get("params") or {}
        response = handler.get("response") or {}
        self.parameters: list[inspect.Parameter] = []

        # Path captures: typed by the route, constrained further by `params.path`.
        declared = (params.get("path") or {}).get("properties", {})
        self.captures = [name for name, _ in captures]
        for name, kind in captures:
            schema = declared.get(name, {})
            if kind != "str" or not schema:
                schema = {**schema, **_CAPTURE_SCHEMAS[kind]}
            self.parameters.append(
                _parameter(name, Annotated[pydantic_type(schema, coerce=True), Path()]))

        # Query, headers, cookies: one parameter per declared property.
        self.locations: list[tuple[str, list[tuple[str, str]]]] = []
        self.first_wins: dict[str, set[str]] = {}
        for location, param in _LOCATIONS:
            schema = params.get(location)
            if schema is None:
                continue
            required = set(schema.get("required", []))
            names = []
            for index, (name, sub) in enumerate(schema.get("properties", {}).items()):
                keyword = f"p__{location}{index}"
                default = (inspect.Parameter.empty if name in required
                           else sub.get("default"))
                annotation = Annotated[pydantic_type(sub, coerce=True), param(alias=name)]
                self.parameters.append(_parameter(keyword, annotation, default))
                names.append((name, keyword))
                if not is_array(sub):
                    self.first_wins.setdefault(location, set()).add(name)
            self.locations.append((location, names))

        # Body: FastAPI reads it (parsing JSON itself), pydantic validates it.
        self.body = handler.get("body")
        if self.body is not None:
            kind = body_type(self.body["media"], self.body.get("schema"))
            self.body_adapter = TypeAdapter(kind)
            self.max_bytes = self.body.get("max_bytes", DEFAULT_MAX_BODY_BYTES)
            default = inspect.Parameter.empty if self.body.get("required", True) else None
            self.parameters.append(_parameter("p__body", Annotated[kind, Body()], default))

        # The reply.
        self.status = response.get("status", 200)
        self.headers = dict(response.get("headers", {}))
        self.cookies = [_set_cookie(cookie) for cookie in response.get("cookies", [])]
        self.echo = response.get("echo", False)
        self.media_type = None
        self.content = b""
        if "json" in response:
            self.media_type, self.content = "application/json", dumps(response["json"])
        elif "text" in response:
            self.media_type, self.content = "text/plain", response["text"].encode()
        elif self.echo:
            self.media_type = "application/json"

    def endpoint(self) -> Callable:
        async def endpoint(**values: Any) -> Response:
            return self.reply(values)

        endpoint.__signature__ = inspect.Signature(self.parameters)
        endpoint.handler = self  # for RestRoute
        return endpoint

    def reply(self, values: dict[str, Any]) -> Response:
        content = dumps(self.echo_document(values)) if self.echo else self.content
        response = Response(content, self.status, self.headers, self.media_type)
        for cookie in self.cookies:
            response.headers.append("set-cookie", cookie)
        return response

    def echo_document(self, values: dict[str, Any]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.captures:
            document["path"] = {name: values[name] for name in self.captures}
        for location, names in self.locations:
            document[location] = {
                name: values[keyword] for name, keyword in names if values[keyword] is not None
            }
        if self.body is not None:
            body = values["p__body"]
            document["body"] = None if body is None else self.body_adapter.dump_python(
                body, mode="json", by_alias=True, exclude_unset=True)
        return document

    async def check(self, request: Request) -> None:
        """What FastAPI does not do itself, in the README's order (see the module doc)."""
        scope = request.scope
        if "query" in self.first_wins:
            scope["query_string"] = _first_query(scope["query_string"], self.first_wins["query"])
        if "cookies" in self.first_wins:
            scope["headers"] = _first_cookies(scope["headers"], self.first_wins["cookies"])
        if self.body is None:
            return
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > self.max_bytes:
            raise HTTPException(413)
        body = await request.body()  # kept by the request for FastAPI
        if len(body) > self.max_bytes:
            raise HTTPException(413)
        if not body:
            return
        media = self.body["media"]
        if not accepts(media, request.headers.get("content-type", "")):
            raise HTTPException(415)
        if media != "json":
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400) from None


class RestRoute(APIRoute):
    """An APIRoute that runs its handler's `check` before FastAPI's own request handling."""

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()
        handler: RestHandler = self.endpoint.handler

        async def checked(request: Request) -> Response:
            await handler.check(request)
            return await handle(request)

        return checked


def register(app: FastAPI, handler: dict) -> None:
    rest = RestHandler(handler)
    app.router.add_api_route(rest.path, rest.endpoint(), methods=[handler["method"]],
                             route_class_override=RestRoute)


def accepts(media: str, content_type: str) -> bool:
    """Whether a content type fits a body media (parameters ignored, case-insensitive)."""
    kind, _, subtype = content_type.split(";")[0].strip().lower().partition("/")
    if not kind or not subtype:
        return False
    if media == "json":
        return (kind, subtype) == ("application", "json") or (
            subtype.endswith("+json") and len(subtype) > 5)
    if media == "form":
        return (kind, subtype) == ("application", "x-www-form-urlencoded")
    return kind == "text"


def _set_cookie(cookie: dict) -> str:
    parts = [f"{cookie['name']}={cookie['value']}"]
    for key, attribute in (("path", "Path"), ("domain", "Domain"), ("max_age", "Max-Age")):
        if key in cookie:
            parts.append(f"{attribute}={cookie[key]}")
    for key, attribute in (("http_only", "HttpOnly"), ("secure", "Secure")):
        if cookie.get(key):
            parts.append(attribute)
    if "same_site" in cookie:
        parts.append(f"SameSite={cookie['same_site']}")
    return "; ".join(parts)


def _first_query(query: bytes, scalars: set[str]) -> bytes:
    """Drops the repeats of scalar keys, so that FastAPI sees their first occurrence."""
    seen: set[str] = set()
    kept = []
    for part in query.split(b"&"):
        key = unquote_plus(part.split(b"=", 1)[0].decode("latin-1"))
        if key in scalars:
            if key in seen:
                continue
            seen.add(key)
        kept.append(part)
    return b"&".join(kept)


def _first_cookies(headers: list, scalars: set[str]) -> list:
    """Merges the Cookie headers into one, keeping the first occurrence of scalar cookies."""
    pairs = [chunk for name, value in headers if name == b"cookie"
             for chunk in value.split(b";")]
    if not pairs:
        return headers
    seen: set[bytes] = set()
    kept = []
    for chunk in pairs:
        key = chunk.split(b"=", 1)[0].strip()
        if key.decode("latin-1") in scalars:
            if key in seen:
                continue
            seen.add(key)
        kept.append(chunk.strip())
    others = [(name, value) for name, value in headers if name != b"cookie"]
    return others + [(b"cookie", b"; ".join(kept))]
