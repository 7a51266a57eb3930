"""WebSocket handlers (FastAPI's WebSocket) and SSE handlers (streamed Server-Sent Events)."""

import asyncio
import base64
import json
import time
from typing import Annotated, Any, AsyncIterator
from urllib.parse import parse_qsl

from fastapi import FastAPI, Header, WebSocket
from fastapi.responses import Response, StreamingResponse
from fastapi.sse import format_sse_event
from pydantic import TypeAdapter, ValidationError

import rpc
from problems import pointer
from rest import parse_route
from schema import pydantic_type


# Set on SIGTERM (app.py): open SSE streams end at once instead of at the graceful timeout.
shutting_down = asyncio.Event()


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


# --- WebSocket ----------------------------------------------------------------------------


def _message(spec: dict) -> dict:
    """A fixture data message as an ASGI `websocket.send` event."""
    if "binary_base64" in spec:
        return {"type": "websocket.send", "bytes": base64.b64decode(spec["binary_base64"])}
    text = spec["text"] if "text" in spec else _compact(spec["json"])
    return {"type": "websocket.send", "text": text}


class WebSocketHandler:
    def __init__(self, handler: dict):
        self.behavior = handler["behavior"]
        schema = handler.get("schema")
        self.adapter = TypeAdapter(pydantic_type(schema)) if schema is not None else None
        self.greeting = _message(handler["greeting"]) if "greeting" in handler else None
        self.subprotocols = handler.get("subprotocols", [])
        self.auth = handler.get("auth")
        self.close = handler.get("close")
        self.drop = handler.get("drop")
        if self.behavior == "rpc":
            rpc.check(handler)
        self.handler = handler

    def allows(self, websocket: WebSocket) -> bool:
        query: dict[str, str] = {}
        for key, value in parse_qsl(websocket.scope["query_string"].decode("latin-1"),
                                    keep_blank_values=True):
            query.setdefault(key, value)
        return all(query.get(k) == v for k, v in self.auth.get("query", {}).items()) and all(
            websocket.headers.get(k) == v for k, v in self.auth.get("headers", {}).items())

    async def __call__(self, websocket: WebSocket) -> None:
        if self.auth is not None and not self.allows(websocket):
            await websocket.send_denial_response(Response(status_code=self.auth["reject_status"]))
            return
        offered = websocket.scope.get("subprotocols", [])
        await websocket.accept(next((p for p in offered if p in self.subprotocols), None))
        if self.behavior == "rpc":
            await rpc.serve(websocket, self.handler)
            return
        if self.greeting is not None:
            await websocket.send(self.greeting)
        answered = 0
        while True:
            if self.close is not None and self.close["after"] == answered:
                await websocket.close(self.close["code"], self.close.get("reason", ""))
                return
            if self.drop is not None and self.drop["after"] == answered:
                return  # without a close frame: the server drops the connection
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return  # the close handshake (same code) is the server library's
            answered += 1
            reply = self.answer(message)
            if reply is not None:
                await websocket.send(reply)

    def answer(self, message: dict) -> dict | None:
        if self.behavior == "silent":
            return None
        if self.behavior == "echo":
            if message.get("text") is not None:
                return {"type": "websocket.send", "text": message["text"]}
            return {"type": "websocket.send", "bytes": message.get("bytes") or b""}
        return {"type": "websocket.send", "text": _compact(self.validate(message))}

    def validate(self, message: dict) -> dict:
        text = message.get("text")
        if text is None:
            return {"type": "error", "title": "Unsupported message type"}
        try:
            value = json.loads(text)
        except ValueError:
            return {"type": "error", "title": "Malformed message"}
        if self.adapter is not None:
            try:
                self.adapter.validate_python(value)
            except ValidationError as error:
                errors: dict[str, str] = {}
                for entry in error.errors():
                    errors.setdefault(pointer(entry["loc"]), entry["msg"])
                return {"type": "error", "title": "Message validation failed",
                        "errors": [{"pointer": p, "message": errors[p]} for p in sorted(errors)]}
        return {"type": "ack", "message": value}


# --- SSE ----------------------------------------------------------------------------------
# A StreamingResponse of events encoded by FastAPI's `format_sse_event`. (FastAPI's
# `EventSourceResponse` would do, but in this version it logs a BrokenResourceError traceback
# whenever a client leaves a stream with an event pending: fastapi discussion #15725.)


class SseHandler:
    def __init__(self, handler: dict):
        self.items: list[tuple[str | None, bytes]] = []
        for item in handler.get("events", []):
            if "comment" in item:
                self.items.append((None, format_sse_event(comment=item["comment"])))
                continue
            data = _compact(item["json"]) if "json" in item else item.get("data")
            self.items.append((item.get("id"), format_sse_event(
                data_str=data, id=item.get("id"), event=item.get("event"),
                retry=item.get("retry"))))
        self.counter = handler.get("counter")
        self.interval = handler.get("interval_ms", 0) / 1000
        self.resume = handler.get("resume", False)
        self.hold = handler.get("end", "close") == "hold"

    def _counted(self, n: int) -> bool:
        return self.counter is not None and (self.counter["count"] is None
                                             or n <= self.counter["count"])

    def start(self, last_event_id: str | None) -> tuple[int, int]:
        """(first listed item, first counter value): after the item named by Last-Event-ID."""
        if not self.resume or last_event_id is None:
            return 0, 1
        for index, (item_id, _) in enumerate(self.items):
            if item_id == last_event_id:
                return index + 1, 1
        if last_event_id.isdigit() and str(int(last_event_id)) == last_event_id:
            n = int(last_event_id)
            if n >= 1 and self._counted(n):
                return len(self.items), n + 1
        return 0, 1

    def counter_event(self, n: int) -> bytes:
        data: dict[str, Any] = {"n": n}
        field = self.counter.get("timestamp_field")
        if field is not None:
            data[field] = time.time_ns() // 1000
        return format_sse_event(data_str=_compact(data), id=str(n),
                                event=self.counter.get("event"))

    async def events(self, index: int, n: int) -> AsyncIterator[bytes]:
        """The listed items from `index`, then the counter from `n`, paced by the interval."""
        first = True
        while (index < len(self.items) or self._counted(n)) and not shutting_down.is_set():
            # A checkpoint even without interval: an endless stream must not starve the loop.
            await asyncio.sleep(0 if first else self.interval)
            first = False
            if index < len(self.items):
                index += 1
                yield self.items[index - 1][1]
            else:
                n += 1
                yield self.counter_event(n - 1)
        if self.hold:
            await shutting_down.wait()  # or until the client leaves (Starlette cancels us)

    async def endpoint(
        self, last_event_id: Annotated[str | None, Header(alias="last-event-id")] = None,
    ) -> StreamingResponse:
        return StreamingResponse(self.events(*self.start(last_event_id)),
                                 media_type="text/event-stream",
                                 headers={"cache-control": "no-cache"})


def register_websocket(app: FastAPI, handler: dict) -> None:
    path, _ = parse_route(handler["route"])
    app.add_api_websocket_route(path, WebSocketHandler(handler))


def register_sse(app: FastAPI, handler: dict) -> None:
    path, _ = parse_route(handler["route"])
    app.add_api_route(path, SseHandler(handler).endpoint, methods=["GET"])
