"""The python-fastapi runner: serves every fixture handler in $FIXTURES_DIR on 127.0.0.1:$PORT.

REST handlers become FastAPI path operations (rest.py), WebSocket and SSE handlers FastAPI
WebSocket routes and streamed Server-Sent Events (streams.py); errors are answered by the
exception handlers of problems.py. Handlers sharing a method and route are registered once.
"""

import json
import os
import sys
from pathlib import Path

import uvicorn
from fastapi import FastAPI
from fastapi.responses import PlainTextResponse

import problems
import rest
import streams

PROTOCOLS = {
    "rest": rest.register,
    "websocket": streams.register_websocket,
    "sse": streams.register_sse,
}


def handlers(fixture: dict) -> list[dict]:
    """A fixture's handlers: its own, and for a REST scenario (format 1.1) each step's."""
    own = [fixture["handler"]] if fixture.get("handler") else []
    steps = fixture.get("steps") if fixture.get("protocol") == "rest" else None
    return own + [step["handler"] for step in steps or [] if step.get("handler")]


def load(fixtures_dir: Path) -> list[dict]:
    """Every fixture with a handler of a served protocol, in path order."""
    fixtures = []
    for path in sorted(fixtures_dir.rglob("*.json")):
        if path.name.endswith(".schema.json"):
            continue
        fixture = json.loads(path.read_text(encoding="utf-8"))
        if fixture.get("protocol") in PROTOCOLS and handlers(fixture):
            fixture["x-file"] = str(path)
            fixtures.append(fixture)
    return fixtures


async def ready() -> str:
    return "ready"


def build(fixtures: list[dict]) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None, redirect_slashes=False)
    problems.install(app)
    app.add_api_route("/__ready", ready, methods=["GET"], response_class=PlainTextResponse)
    registered = set()
    for fixture in fixtures:
        protocol = fixture["protocol"]
        for handler in handlers(fixture):
            key = (protocol == "websocket", handler.get("method", "GET").upper(), handler["route"])
            if key in registered:
                continue
            registered.add(key)
            try:
                PROTOCOLS[protocol](app, handler)
            except Exception as error:
                print(f"python-fastapi: {fixture['x-file']}: handler: {error}", file=sys.stderr)
                sys.exit(2)
    return app


class Server(uvicorn.Server):
    """uvicorn's server, ending open SSE streams as soon as it is told to exit."""

    def handle_exit(self, sig, frame) -> None:
        streams.shutting_down.set()
        super().handle_exit(sig, frame)


def main() -> None:
    port, fixtures_dir = os.environ.get("PORT"), os.environ.get("FIXTURES_DIR")
    if not port or not port.isdigit() or not fixtures_dir:
        print("python-fastapi: PORT and FIXTURES_DIR must be set", file=sys.stderr)
        sys.exit(2)
    app = build(load(Path(fixtures_dir)))
    # HTTPS (and WSS) when given a certificate: uvicorn's own TLS (HTTP/1.1 only).
    tls = {"ssl_certfile": os.environ.get("TLS_CERT_FILE"),
           "ssl_keyfile": os.environ.get("TLS_KEY_FILE")}
    if not all(tls.values()):
        tls = {}
    # wsproto: uvicorn's websockets-sansio protocol logs an error for every refused upgrade.
    config = uvicorn.Config(app, host="127.0.0.1", port=int(port), ws="wsproto",
                            log_level="warning", timeout_graceful_shutdown=1, **tls)
    Server(config).run()


if __name__ == "__main__":
    main()
