"""CORS per handler (fixtures/README.md, "CORS"), in the handlers.

Spikard's `RouteBuilder.cors(CorsConfig)` cannot give the documented replies: it answers a
request from an origin it does not allow with 403 instead of serving it without CORS headers,
sends the request's origin rather than `*` for `allow_origins: ["*"]` without credentials, sends
no `Vary: Origin` on preflights, and answers any OPTIONS request without an origin with 403
(instead of 405). So the runner registers an OPTIONS route for preflights on each CORS path and
adds the headers of other replies in the handler. Replies that Spikard itself gives before the
handler (its own 400/413/415/422) carry no CORS headers.
"""

from __future__ import annotations

from typing import Any


class CorsPolicy:
    """One handler's `cors` object."""

    def __init__(self, spec: dict[str, Any]) -> None:
        self.origins = set(spec["allow_origins"])
        self.any_origin = "*" in self.origins
        self.methods = list(spec.get("allow_methods", []))
        self.headers = [name.lower() for name in spec.get("allow_headers", [])]
        self.expose = list(spec.get("expose_headers", []))
        self.max_age = spec.get("max_age")
        self.credentials = bool(spec.get("allow_credentials", False))

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (self.any_origin or origin in self.origins)

    def allow_origin(self, origin: str) -> str:
        return "*" if self.any_origin and not self.credentials else origin

    def reply_headers(self, request_headers: dict[str, str]) -> dict[str, str]:
        """Headers for a reply to a request that is not a preflight (none for an origin that is
        not allowed)."""
        origin = request_headers.get("origin")
        if not self.allows(origin):
            return {}
        headers = {"access-control-allow-origin": self.allow_origin(origin), "vary": "Origin"}
        if self.credentials:
            headers["access-control-allow-credentials"] = "true"
        if self.expose:
            headers["access-control-expose-headers"] = ", ".join(self.expose)
        return headers

    def preflight(self, request_headers: dict[str, str]) -> tuple[int, dict[str, str]]:
        """(204, the allowed method and headers) or (403, nothing)."""
        origin = request_headers.get("origin")
        method = request_headers.get("access-control-request-method", "")
        asked = request_headers.get("access-control-request-headers", "")
        names = [name.strip().lower() for name in asked.split(",") if name.strip()]
        if (not self.allows(origin) or method not in self.methods
                or any(name not in self.headers for name in names)):
            return 403, {}
        headers = {"access-control-allow-origin": self.allow_origin(origin),
                   "access-control-allow-methods": ", ".join(self.methods), "vary": "Origin"}
        if self.headers:
            headers["access-control-allow-headers"] = ", ".join(self.headers)
        if self.max_age is not None:
            headers["access-control-max-age"] = str(self.max_age)
        if self.credentials:
            headers["access-control-allow-credentials"] = "true"
        return 204, headers


def is_preflight(request_headers: dict[str, str]) -> bool:
    return "origin" in request_headers and "access-control-request-method" in request_headers
