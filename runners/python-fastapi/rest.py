"""REST handlers as FastAPI path operations.

Each handler becomes one endpoint whose signature declares its typed parameters (`Path`,
`Query`, `Header`, `Cookie`, `Body`, or `Form()` for multipart, with the pydantic types of
`schema.py` and `uploads.py`), so FastAPI parses and validates the request and raises
`RequestValidationError` for `problems.py` to answer. `RestRoute` adds what FastAPI does not do
by itself, before it reads anything: decoding of compressed uploads (FastAPI's documented custom
`Request` class), the body checks in the README's order (413, 415, 400 for non-UTF-8 text or a
cut multipart body) and "first occurrence wins" for repeated scalar query keys and cookies
(Starlette keeps the last); and, around the route's ASGI app, the headers every reply of the
handler carries (CORS, `Vary: Accept-Encoding`), error replies included.
"""

import inspect
import re
from typing import Annotated, Any, Callable
from urllib.parse import unquote_plus

from fastapi import Body, Cookie, FastAPI, Header, Path, Query, Request
from fastapi.responses import Response
from fastapi.routing import APIRoute
from pydantic import TypeAdapter
from python_multipart.multipart import parse_options_header
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

import codings
from cors import CorsPolicy, register_preflight
from problems import dumps
from schema import body_type, is_array, pydantic_type
from streamed import Stream
from uploads import MultipartBody

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

        # Body: FastAPI reads it (parsing JSON and multipart itself), pydantic validates it.
        self.body = handler.get("body")
        self.codings: list[str] = []
        if self.body is not None:
            default = inspect.Parameter.empty if self.body.get("required", True) else None
            if self.body["media"] == "multipart":
                self.body_adapter = None  # the value echoes itself (uploads.Multipart)
                annotation = MultipartBody(self.body).parameter_type()
            else:
                kind = body_type(self.body["media"], self.body.get("schema"))
                self.body_adapter = TypeAdapter(kind)
                annotation = Annotated[kind, Body()]
            self.parameters.append(_parameter("p__body", annotation, default))
            self.max_bytes = self.body.get("max_bytes", DEFAULT_MAX_BODY_BYTES)
            self.codings = list(self.body.get("content_encodings", []))
        self.parameters.append(_parameter("p__request", Request))

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
        self.stream = Stream(response["stream"]) if "stream" in response else None
        compress = response.get("compress")
        self.compress_min = None if compress is None else compress.get("min_bytes", 0)
        self.compress_codings = [] if compress is None else compress.get("encodings", ["gzip"])
        self.cors = CorsPolicy(handler["cors"]) if "cors" in handler else None

    def endpoint(self) -> Callable:
        async def endpoint(**values: Any) -> Response:
            return await self.reply(values)

        endpoint.__signature__ = inspect.Signature(self.parameters)
        endpoint.handler = self  # for RestRoute
        return endpoint

    async def reply(self, values: dict[str, Any]) -> Response:
        if self.stream is not None:
            response = self.stream.response(self.status, self.headers)
        else:
            content = dumps(await self.echo_document(values)) if self.echo else self.content
            headers = dict(self.headers)
            # Error replies are never encoded (the vocabulary), the handler's own 4xx included.
            if (self.compress_min is not None and self.status < 400
                    and len(content) >= self.compress_min):
                accept = values["p__request"].headers.get("accept-encoding")
                coding = codings.negotiate(accept, self.compress_codings)
                if coding is not None:
                    content = codings.encode(content, coding)
                    headers["content-encoding"] = coding
            response = Response(content, self.status, headers, self.media_type)
        for cookie in self.cookies:
            response.headers.append("set-cookie", cookie)
        return response

    def reply_headers(self, request_headers: Headers, headers: MutableHeaders) -> None:
        """Adds what every reply of the handler carries, error replies included: `Vary:
        Accept-Encoding` when it compresses, the CORS headers for an allowed origin."""
        if self.compress_min is not None:
            headers.add_vary_header("Accept-Encoding")
        if self.cors is not None:
            cors_headers = self.cors.reply_headers(request_headers)
            for name, value in cors_headers:
                headers[name] = value
            if cors_headers:
                headers.add_vary_header("Origin")

    async def echo_document(self, values: dict[str, Any]) -> dict[str, Any]:
        document: dict[str, Any] = {}
        if self.captures:
            document["path"] = {name: values[name] for name in self.captures}
        for location, names in self.locations:
            document[location] = {
                name: values[keyword] for name, keyword in names if values[keyword] is not None
            }
        if self.body is not None:
            body = values["p__body"]
            if body is None:
                document["body"] = None
            elif self.body_adapter is None:
                document["body"] = await body.echo()
            else:
                document["body"] = self.body_adapter.dump_python(
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
        coded = codings.content_codings(request.headers.get("content-encoding"))
        if coded and length != "0" and any(c not in self.codings for c in coded):
            # RFC 9110 section 15.5.16: say which codings the handler decodes.
            raise HTTPException(415, headers={
                "accept-encoding": ", ".join(self.codings) or "identity"})
        limit = codings.encoded_bound(self.max_bytes) if coded else self.max_bytes
        if length.isdigit() and int(length) > limit:
            raise HTTPException(413)
        body = await request.body()  # decoded (UploadRequest), kept for FastAPI
        if len(body) > self.max_bytes:
            raise HTTPException(413)
        if not body:
            return
        media = self.body["media"]
        content_type = request.headers.get("content-type", "")
        if not accepts(media, content_type):
            raise HTTPException(415)
        if media == "multipart" and not _multipart_closed(body, content_type):
            raise HTTPException(400)
        if media in ("text", "form"):
            try:
                body.decode("utf-8")
            except UnicodeDecodeError:
                raise HTTPException(400) from None

    def decode(self, body: bytes, headers: Headers) -> bytes:
        """The body with its `Content-Encoding` undone (the codings were checked before)."""
        coded = codings.content_codings(headers.get("content-encoding"))
        if not body or not coded or self.body is None:
            return body
        try:
            return codings.decode(body, coded, self.max_bytes)
        except codings.BodyTooLarge:
            raise HTTPException(413) from None
        except codings.MalformedBody:
            raise HTTPException(400) from None


class UploadRequest(Request):
    """The request the route hands FastAPI: its body decoded by the handler, as in FastAPI's
    "Custom Request and APIRoute class" (a `Request` subclass overriding `body()`)."""

    def __init__(self, request: Request, handler: RestHandler):
        super().__init__(request.scope, request.receive)
        self.handler = handler

    async def body(self) -> bytes:
        if not hasattr(self, "_body"):
            self._body = self.handler.decode(await super().body(), self.headers)
        return self._body


class ReplyHeaders:
    """Wraps a route's ASGI app (as Starlette's `Route(middleware=...)` does) to add the
    handler's `reply_headers` to whatever reply the route sends: its own, and the error replies
    that the exception handlers of problems.py give inside it."""

    def __init__(self, app: ASGIApp, handler: RestHandler):
        self.app, self.handler = app, handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_headers = Headers(scope=scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                self.handler.reply_headers(request_headers, MutableHeaders(scope=message))
            await send(message)

        await self.app(scope, receive, send_with_headers)


class RestRoute(APIRoute):
    """An APIRoute that decodes the body and runs its handler's `check` before FastAPI's own
    request handling, inside `ReplyHeaders` when the handler has headers for every reply."""

    def __init__(self, path: str, endpoint: Callable, **kwargs: Any):
        super().__init__(path, endpoint, **kwargs)
        handler: RestHandler = endpoint.handler
        if handler.cors is not None or handler.compress_min is not None:
            self.app = ReplyHeaders(self.app, handler)

    def get_route_handler(self) -> Callable:
        handle = super().get_route_handler()
        handler: RestHandler = self.endpoint.handler

        async def checked(request: Request) -> Response:
            if handler.codings:
                request = UploadRequest(request, handler)
            await handler.check(request)
            return await handle(request)

        return checked


def register(app: FastAPI, handler: dict) -> None:
    rest = RestHandler(handler)
    if rest.cors is not None and not any(
            getattr(route, "path", None) == rest.path and "OPTIONS" in route.methods
            for route in app.router.routes if isinstance(route, APIRoute)):
        register_preflight(app, rest.path, rest.cors)
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
    if media == "multipart":
        return (kind, subtype) == ("multipart", "form-data")
    return kind == "text"


def _multipart_closed(body: bytes, content_type: str) -> bool:
    """Whether a multipart body has a boundary and ends with its close delimiter: Starlette's
    parser (python-multipart) refuses other broken bodies, but returns the parts read so far
    from a body cut short."""
    _, options = parse_options_header(content_type)
    boundary = options.get(b"boundary")
    return bool(boundary) and b"--" + boundary + b"--" in body


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
