"""python-spikard runner: serves the fixture corpus's REST handlers on Spikard 0.17.2.

Every fixture handler becomes one Spikard route (``spikard.service.App`` + ``RouteBuilder``):

* routing, typed captures (``{id:int}``, ``{x:float}``, ``{f:bool}``, ``{u:uuid}``), 404 and 405
  are Spikard's router;
* path/query/header/cookie parameters are coerced and validated by Spikard from a
  ``params_schema_json`` built out of the handler's ``params`` (one property per parameter, tagged
  with its ``source``);
* ``json`` and ``form`` bodies are parsed, coerced and validated by Spikard from
  ``request_schema_json``; ``max_bytes`` is Spikard's per-route ``body_limit``.

* multipart bodies are parsed by Spikard and validated in ``uploads.py``; replies are
  compressed by Spikard's per-route ``compression``; CORS (``cors.py``) and streamed replies
  (``streamed.py``, sent whole) are the handlers'.

Spikard answers its own errors (413, 415, 400, 422) in its own problem format; release 0.17.2 has
no hook a Python app can register to rewrite them, so those replies are Spikard's, not the
canonical ones (see README.md). What Spikard does not check at all is checked here and answered
with the canonical bodies: a body whose content type does not fit the handler's ``media`` where
Spikard let it through, ``text`` bodies (UTF-8, and their schema via ``jsonschema``), and a
missing required body on a route without a body schema.

Env: PORT (mapped to SPIKARD_SERVER_PORT, which Spikard's server reads; it binds its default
host 127.0.0.1) and FIXTURES_DIR. Logs go to stderr.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
from pathlib import Path
from typing import Any

from spikard import Method
from spikard.service import App, RouteBuilder

# RouteBuilder's setters take the native config classes (spikard.app converts its public
# dataclasses to these the same way).
from spikard._spikard import CompressionConfig

import codings
import streamed
from cors import CorsPolicy, is_preflight
from uploads import MultipartBody

log = logging.getLogger("python-spikard")

PROTOCOLS = {"rest"}
READY_PATH = "/__ready"

JSON_TYPE = "application/json"
PROBLEM_TYPE = "application/problem+json"
TEXT_TYPE = "text/plain; charset=utf-8"

# Capture types of the route syntax, as JSON Schema for Spikard's parameter validation.
CAPTURE_SCHEMAS: dict[str, dict[str, Any]] = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "bool": {"type": "boolean"},
    "uuid": {"type": "string", "format": "uuid"},
}
CAPTURE_RE = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(?::([a-z]+))?\}")

# Parameter locations: fixture name -> (Spikard's `source`, echo key).
LOCATIONS = (("path", "path"), ("query", "query"), ("headers", "header"), ("cookies", "cookie"))

Envelope = dict[str, Any]

_MISSING = object()  # "no default" for a parameter

# Decoded uploads of handlers without `max_bytes` are still bounded.
DEFAULT_MAX_BODY_BYTES = 16 * 1024 * 1024


def dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def reply(status: int, content: str | None, content_type: str | None, headers: dict[str, str] | None = None) -> Envelope:
    """A Spikard handler result: content (raw text or None), status and headers."""
    out = dict(headers or {})
    if content_type is not None:
        out["content-type"] = content_type
    return {"content": content, "status_code": status, "headers": out}


def problem(kind: str, title: str, status: int, errors: list[dict[str, str]] | None = None) -> Envelope:
    body: dict[str, Any] = {"type": f"urn:benchmark-harness:{kind}", "title": title, "status": status}
    if errors is not None:
        body["errors"] = errors
    return reply(status, dumps(body), PROBLEM_TYPE)


def unsupported_media_type(headers: dict[str, str] | None = None) -> Envelope:
    envelope = problem("unsupported-media-type", "Unsupported media type", 415)
    envelope["headers"].update(headers or {})
    return envelope


def malformed_body() -> Envelope:
    return problem("malformed-body", "Malformed request body", 400)


def validation_failed(errors: list[dict[str, str]]) -> Envelope:
    return problem("validation-error", "Request validation failed", 422, errors)


def payload_too_large() -> Envelope:
    return problem("payload-too-large", "Payload too large", 413)


def media_fits(media: str, content_type: str) -> bool:
    """Whether a Content-Type fits a body media (parameters ignored, names case-insensitive)."""
    essence = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = essence.partition("/")
    if not kind or not subtype:
        return False
    if media == "json":
        return essence == JSON_TYPE or (len(subtype) > 5 and subtype.endswith("+json"))
    if media == "form":
        return essence == "application/x-www-form-urlencoded"
    if media == "multipart":
        return essence == "multipart/form-data"
    return kind == "text"


def set_cookie(cookie: dict[str, Any]) -> str:
    parts = [f"{cookie['name']}={cookie['value']}"]
    if "path" in cookie:
        parts.append(f"Path={cookie['path']}")
    if "domain" in cookie:
        parts.append(f"Domain={cookie['domain']}")
    if "max_age" in cookie:
        parts.append(f"Max-Age={cookie['max_age']}")
    if cookie.get("http_only"):
        parts.append("HttpOnly")
    if cookie.get("secure"):
        parts.append("Secure")
    if "same_site" in cookie:
        parts.append(f"SameSite={cookie['same_site']}")
    return "; ".join(parts)


def schema_errors(validator: Any, instance: Any, location: str) -> list[dict[str, str]]:
    """jsonschema errors as canonical entries: one per pointer, sorted by pointer."""
    found: dict[str, str] = {}
    for error in validator.iter_errors(instance):
        path = list(error.absolute_path)
        if error.validator == "required":
            # A missing property points where it should be.
            missing = re.match(r"'(.*)' is a required property", error.message)
            if missing:
                path.append(missing.group(1))
        pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in path)
        found.setdefault(pointer, error.message)
    return [{"in": location, "pointer": p, "message": m} for p, m in sorted(found.items())]


class Endpoint:
    """One REST handler of the corpus, prepared for Spikard."""

    def __init__(self, file: Path, handler: dict[str, Any]) -> None:
        self.file = file
        self.method: str = handler["method"].upper()
        self.route: str = handler["route"]
        params: dict[str, Any] = handler.get("params") or {}
        self.body: dict[str, Any] | None = handler.get("body")
        response: dict[str, Any] = handler.get("response") or {}

        captures = CAPTURE_RE.findall(self.route)
        self.spikard_route = CAPTURE_RE.sub(
            lambda m: "{" + m.group(1) + ("" if m.group(2) in (None, "str") else ":" + m.group(2)) + "}",
            self.route,
        )

        # Spikard's parameter schema: every parameter of every location as one flat object whose
        # properties carry their `source`. The echo reads the coerced values back per location.
        properties: dict[str, Any] = {}
        required: list[str] = []
        self.echo_params: list[tuple[str, list[tuple[str, Any]]]] = []
        for location, source in LOCATIONS:
            schema = params.get(location)
            if location == "path":
                if not captures and not schema:
                    continue
                names = [name for name, _ in captures]
                declared = dict((schema or {}).get("properties") or {})
                props = {}
                for name, kind in captures:
                    merged = dict(CAPTURE_SCHEMAS.get(kind or "str", {"type": "string"}))
                    extra = declared.get(name) or {}
                    if not kind and "type" in extra:
                        merged = {}  # an untyped capture takes the type params.path declares
                    merged.update(extra)
                    props[name] = merged
                location_required = names
            else:
                if schema is None:
                    continue
                props = dict(schema.get("properties") or {})
                location_required = list(schema.get("required") or [])
            echo: list[tuple[str, Any]] = []
            for name, prop in props.items():
                if name in properties:
                    log.warning("%s: parameter %r declared in two locations; Spikard keys them by name", file, name)
                properties[name] = {**prop, "source": source}
                echo.append((name, prop.get("default", _MISSING)))
            required.extend(n for n in location_required if n in props)
            self.echo_params.append((location, echo))
        self.params_schema = {"type": "object", "properties": properties, "required": required} if properties else None

        self.prepare_body(file)
        self.prepare_reply(file, handler, response)

    def prepare_body(self, file: Path) -> None:
        # Body: JSON and form bodies are Spikard's (parsing, coercion, validation); multipart
        # bodies are parsed by Spikard and checked in uploads.py; text bodies, the media check
        # and compressed uploads are done here.
        self.media: str | None = None
        self.body_required = True
        self.body_schema: dict[str, Any] | None = None
        self.text_validator: Any = None
        self.max_bytes: int | None = None
        self.multipart: MultipartBody | None = None
        self.codings: list[str] = []
        if self.body is not None:
            self.media = self.body.get("media", "json")
            self.body_required = self.body.get("required", True)
            self.body_schema = self.body.get("schema")
            self.max_bytes = self.body.get("max_bytes")
            self.codings = list(self.body.get("content_encodings") or [])
            for coding in self.codings:
                if coding not in codings.DECODABLE:
                    log.warning("%s: %s uploads are not decoded (gzip and deflate are)", file, coding)
            if self.media == "multipart":
                self.multipart = MultipartBody(self.body)
            if self.media == "text" and self.body_schema is not None:
                from jsonschema import Draft202012Validator, FormatChecker

                self.text_validator = Draft202012Validator(self.body_schema, format_checker=FormatChecker())

    def prepare_reply(self, file: Path, handler: dict[str, Any], response: dict[str, Any]) -> None:
        # The reply, rendered once where it is static.
        self.status: int = response.get("status", 200)
        self.headers: dict[str, str] = {str(k): str(v) for k, v in (response.get("headers") or {}).items()}
        cookies = response.get("cookies") or []
        if cookies:
            if len(cookies) > 1:
                log.warning("%s: Spikard's reply carries one value per header: only the first Set-Cookie is sent", file)
            self.headers["set-cookie"] = set_cookie(cookies[0])
        self.echo = bool(response.get("echo"))
        self.compress: dict[str, Any] | None = response.get("compress")
        if self.compress and "deflate" in self.compress.get("encodings", []):
            log.warning("%s: Spikard's compression offers gzip and br, not deflate", file)
        self.cors = CorsPolicy(handler["cors"]) if handler.get("cors") else None
        self.static: Envelope | None = None
        if not self.echo:
            if "stream" in response:
                content, content_type = streamed.body(response["stream"])
                self.static = reply(self.status, content, content_type, self.headers)
            elif "json" in response:
                self.static = reply(self.status, dumps(response["json"]), JSON_TYPE, self.headers)
            elif "text" in response:
                self.static = reply(self.status, response["text"], TEXT_TYPE, self.headers)
            else:
                self.static = reply(self.status, None, None, self.headers)

    def builder(self) -> RouteBuilder:
        builder = RouteBuilder.new(getattr(Method, self.method), self.spikard_route)
        builder = builder.handler_name(f"{self.method} {self.route}")
        if self.params_schema is not None:
            builder = builder.params_schema_json(json.dumps(self.params_schema))
        if self.media in ("json", "form"):
            schema = self.body_schema if self.body_schema is not None else {}
            if not self.body_required and schema:
                schema = {"anyOf": [schema, {"type": "null"}]}
            builder = builder.request_schema_json(json.dumps(schema))
        if self.max_bytes is not None:
            builder = builder.body_limit(self.max_bytes)
        if self.compress is not None:
            encodings = self.compress.get("encodings", ["gzip"])
            builder = builder.compression(CompressionConfig(
                gzip="gzip" in encodings, brotli="br" in encodings,
                min_size=self.compress.get("min_bytes", 0), quality=6))
        return builder.sync()

    def __call__(self, request: dict[str, Any]) -> Envelope:
        envelope = self.answer(request)
        if self.compress is not None:
            envelope = {**envelope, "headers": {**envelope["headers"], "vary": "Accept-Encoding"}}
        if self.cors is not None:
            cors_headers = self.cors.reply_headers(request.get("headers") or {})
            if cors_headers:
                envelope = {**envelope, "headers": {**envelope["headers"], **cors_headers}}
        return envelope

    def answer(self, request: dict[str, Any]) -> Envelope:
        body: Any = None
        if self.media is not None:
            outcome = self.read_body(request)
            if isinstance(outcome, _Reject):
                return outcome.envelope
            body = outcome
        if self.static is not None:
            return self.static
        document: dict[str, Any] = {}
        validated = request.get("validated_params") or {}
        for location, echo in self.echo_params:
            values: dict[str, Any] = {}
            for name, default in echo:
                if name in validated:
                    values[name] = validated[name]
                elif default is not _MISSING:
                    values[name] = default
            document[location] = values
        if self.media is not None:
            document["body"] = body
        return reply(self.status, dumps(document), JSON_TYPE, self.headers)

    def read_body(self, request: dict[str, Any]) -> Any:
        """The request body for the echo, or a _Reject with the canonical error."""
        raw = request.get("raw_body")
        present = bool(raw)
        headers = request.get("headers") or {}
        coded = codings.content_codings(headers.get("content-encoding"))
        if present and coded:
            if any(coding not in self.codings for coding in coded):
                # RFC 9110 section 15.5.16: say which codings the handler decodes.
                accepted = ", ".join(self.codings) or "identity"
                return _Reject(unsupported_media_type({"accept-encoding": accepted}))
            # Only a text body reaches the handler still encoded (see codings.py); a JSON, form
            # or multipart one got here because it parsed as sent, so it is not in its coding.
            try:
                raw = codings.decode(bytes(raw), coded, self.max_bytes or DEFAULT_MAX_BODY_BYTES)
            except codings.BodyTooLarge:
                return _Reject(payload_too_large())
            except codings.MalformedBody:
                return _Reject(malformed_body())
        if present:
            content_type = headers.get("content-type", "")
            # Spikard parses urlencoded forms into JSON before the handler (rewriting the
            # content type to application/json), so for its body media the two are one.
            accepted = ("json", "form") if self.media in ("json", "form") else (self.media or "json",)
            if not any(media_fits(media, content_type) for media in accepted):
                return _Reject(unsupported_media_type())
        if self.media == "text":
            text = None
            if present:
                try:
                    text = bytes(raw).decode("utf-8")
                except UnicodeDecodeError:
                    return _Reject(malformed_body())
            if text is None:
                if self.body_required:
                    return _Reject(validation_failed([{"in": "body", "pointer": "", "message": "a body is required"}]))
                return None
            if self.text_validator is not None:
                errors = schema_errors(self.text_validator, text, "body")
                if errors:
                    return _Reject(validation_failed(errors))
            return text
        if self.multipart is not None:
            return self.read_multipart(request.get("body") if present else None)
        if not present and self.body_required and self.body_schema is None:
            return _Reject(validation_failed([{"in": "body", "pointer": "", "message": "a body is required"}]))
        return request.get("body") if present else None


    def read_multipart(self, parts: Any) -> Any:
        """The echo of a multipart body Spikard parsed (see uploads.py), or a _Reject."""
        assert self.multipart is not None
        if parts is not None and not isinstance(parts, dict):
            return _Reject(malformed_body())  # e.g. no boundary: Spikard passes it through
        if not parts:  # no body, or no part at all
            if self.body_required:
                return _Reject(validation_failed([{"in": "body", "pointer": "", "message": "a body is required"}]))
            return None
        echo, errors = self.multipart.read(parts)
        if errors:
            found: dict[str, str] = {}
            for pointer, message in errors:
                found.setdefault(pointer, message)
            return _Reject(validation_failed([{"in": "body", "pointer": p, "message": m} for p, m in sorted(found.items())]))
        return echo


class _Reject:
    __slots__ = ("envelope",)

    def __init__(self, envelope: Envelope) -> None:
        self.envelope = envelope



def ready(_request: dict[str, Any]) -> Envelope:
    return reply(200, "ready", TEXT_TYPE)


def fixture_handlers(fixture: dict[str, Any]) -> list[dict[str, Any]]:
    """The handlers a REST fixture asks to serve: its own ``handler``, and for a scenario
    (format 1.1) the ``handler`` of each of its ``steps`` that has one."""
    steps = fixture.get("steps")
    parts = [fixture, *(steps if isinstance(steps, list) else [])]
    return [part["handler"] for part in parts if isinstance(part, dict) and isinstance(part.get("handler"), dict)]


def load_endpoints(fixtures_dir: Path) -> list[Endpoint]:
    """One Endpoint per (method, route) of the REST handlers under ``fixtures_dir``: handlers
    that share a method and route are identical, the first one is registered."""
    endpoints: dict[tuple[str, str], Endpoint] = {}
    # Spikard's router takes /items and /items/ for one route and refuses the second (a panic
    # at startup): the first is served, the other's fixtures fail against this runner.
    served_slashless: dict[tuple[str, str], str] = {}
    for file in sorted(fixtures_dir.rglob("*.json")):
        if file.name.endswith(".schema.json"):
            continue
        try:
            fixture = json.loads(file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise SystemExit(f"{file}: {e}") from e
        if not isinstance(fixture, dict) or fixture.get("protocol") not in PROTOCOLS:
            continue
        for handler in fixture_handlers(fixture):
            key = (handler["method"].upper(), handler["route"])
            slashless = (key[0], key[1].rstrip("/") or "/")
            if key in endpoints:
                continue
            if slashless in served_slashless:
                print(
                    f"python-spikard: {key[0]} {key[1]} ({file.name}) not served: Spikard takes it "
                    f"for {served_slashless[slashless]}, which is",
                    file=sys.stderr,
                )
                continue
            served_slashless[slashless] = key[1]
            endpoints[key] = Endpoint(file, handler)
    return list(endpoints.values())


class Preflight:
    """The OPTIONS route of a CORS handler's path (see cors.py): preflights get the policy's
    204 or 403, other OPTIONS requests the 405 they got before."""

    def __init__(self, route: str, policy: CorsPolicy, methods: list[str]) -> None:
        self.route, self.policy, self.methods = route, policy, methods

    def builder(self) -> RouteBuilder:
        return RouteBuilder.new(Method.OPTIONS, self.route).handler_name(f"OPTIONS {self.route}").sync()

    def __call__(self, request: dict[str, Any]) -> Envelope:
        headers = request.get("headers") or {}
        if is_preflight(headers):
            status, cors_headers = self.policy.preflight(headers)
            return reply(status, None, None, cors_headers)
        return reply(405, None, None, {"allow": ", ".join(self.methods)})


def preflights(endpoints: list[Endpoint]) -> list[Preflight]:
    """One Preflight per route with a CORS handler (and no OPTIONS handler of its own)."""
    methods: dict[str, list[str]] = {}
    for endpoint in endpoints:
        methods.setdefault(endpoint.spikard_route, []).append(endpoint.method)
    found: dict[str, Preflight] = {}
    for endpoint in endpoints:
        route = endpoint.spikard_route
        if endpoint.cors is not None and route not in found and "OPTIONS" not in methods[route]:
            found[route] = Preflight(route, endpoint.cors, methods[route])
    return list(found.values())


def build_app(endpoints: list[Endpoint]) -> App:
    app = App()
    app.register_route(RouteBuilder.new(Method.GET, READY_PATH).handler_name("ready").sync(), ready)
    for endpoint in endpoints:
        app.register_route(endpoint.builder(), endpoint)
    for preflight in preflights(endpoints):
        app.register_route(preflight.builder(), preflight)
    return app


def main() -> int:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="python-spikard: %(levelname)s %(message)s")
    port = os.environ.get("PORT")
    fixtures_dir = os.environ.get("FIXTURES_DIR")
    if not port or not fixtures_dir:
        log.error("PORT and FIXTURES_DIR must be set")
        return 2
    # Spikard's server binds ServerConfig.host (default 127.0.0.1) and the port in
    # SPIKARD_SERVER_PORT when set.
    os.environ["SPIKARD_SERVER_PORT"] = port
    endpoints = load_endpoints(Path(fixtures_dir))
    app = build_app(endpoints)
    log.info("serving %d REST routes on 127.0.0.1:%s", len(endpoints), port)
    app.run()  # until SIGTERM/SIGINT (Spikard handles both and returns)
    return 0


if __name__ == "__main__":
    sys.exit(main())
