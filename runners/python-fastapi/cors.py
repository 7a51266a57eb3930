"""CORS per handler (fixtures/README.md, "CORS"): preflights on an OPTIONS route of the handler's
path, and the `Access-Control-*` headers of every other reply the route gives.

Starlette's `CORSMiddleware` cannot give the documented replies: it answers an allowed preflight
with 200 and a text body and a refused one with 400 that still carries `Access-Control-Allow-*`
headers; it adds `Access-Control-Allow-Credentials` and `-Expose-Headers` to replies for origins
it does not allow; it allows the CORS-safelisted headers (`Accept`, `Content-Type`, ...) whatever
`allow_headers` says; it always sends `Access-Control-Max-Age` (600 by default); and it is one
policy for the whole app, where each handler has its own. So this small policy does it.
"""

from fastapi import FastAPI, Request
from fastapi.responses import Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException


class CorsPolicy:
    """One handler's `cors` object."""

    def __init__(self, spec: dict):
        self.origins = set(spec["allow_origins"])
        self.any_origin = "*" in self.origins
        self.methods = list(spec.get("allow_methods", []))
        self.headers = [name.lower() for name in spec.get("allow_headers", [])]
        self.expose = list(spec.get("expose_headers", []))
        self.max_age = spec.get("max_age")
        self.credentials = spec.get("allow_credentials", False)

    def allows(self, origin: str | None) -> bool:
        return origin is not None and (self.any_origin or origin in self.origins)

    def allow_origin(self, origin: str) -> str:
        return "*" if self.any_origin and not self.credentials else origin

    def reply_headers(self, request_headers: Headers) -> list[tuple[str, str]]:
        """The headers of a reply to a request that is not a preflight (none for an origin that
        is not allowed); `Vary: Origin` is merged into the reply's `Vary` by the caller."""
        origin = request_headers.get("origin")
        if not self.allows(origin):
            return []
        headers = [("access-control-allow-origin", self.allow_origin(origin))]
        if self.credentials:
            headers.append(("access-control-allow-credentials", "true"))
        if self.expose:
            headers.append(("access-control-expose-headers", ", ".join(self.expose)))
        return headers

    def preflight(self, request_headers: Headers) -> Response:
        """204 with the allowed method and headers, or 403 without any `Access-Control-*`."""
        origin = request_headers["origin"]
        method = request_headers["access-control-request-method"]
        asked = request_headers.get("access-control-request-headers", "")
        names = [name.strip().lower() for name in asked.split(",") if name.strip()]
        if (not self.allows(origin) or method not in self.methods
                or any(name not in self.headers for name in names)):
            return Response(status_code=403)
        headers = {"access-control-allow-origin": self.allow_origin(origin),
                   "access-control-allow-methods": ", ".join(self.methods)}
        if self.headers:
            headers["access-control-allow-headers"] = ", ".join(self.headers)
        if self.max_age is not None:
            headers["access-control-max-age"] = str(self.max_age)
        if self.credentials:
            headers["access-control-allow-credentials"] = "true"
        headers["vary"] = "Origin"
        return Response(status_code=204, headers=headers)


def is_preflight(request_headers: Headers) -> bool:
    return "origin" in request_headers and "access-control-request-method" in request_headers


def register_preflight(app: FastAPI, path: str, policy: CorsPolicy) -> None:
    """An OPTIONS path operation on `path` answering preflights; any other OPTIONS request gets
    the 405 the router gave before (with the path's other methods in `Allow`)."""

    async def preflight(request: Request) -> Response:
        if is_preflight(request.headers):
            return policy.preflight(request.headers)
        allowed = sorted({method for route in app.router.routes
                          if getattr(route, "path", None) == path
                          for method in getattr(route, "methods", None) or ()} - {"OPTIONS"})
        raise HTTPException(405, headers={"Allow": ", ".join(allowed)})

    app.add_api_route(path, preflight, methods=["OPTIONS"])
