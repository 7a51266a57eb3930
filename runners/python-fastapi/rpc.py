"""The `rpc` WebSocket handler: JSON-RPC 2.0 with the methods a fixture declares
(fixtures/README.md, "RPC handlers"), on FastAPI's WebSocket.

A connection is served by asyncio tasks it owns: the reader (the endpoint itself) judges each
request as it arrives (counters change and subscription ids are chosen then), a delayed reply
is a task that sleeps, each subscription and the heartbeat are tasks, and one writer task is
the only one that sends: the others queue their messages. Every task is cancelled when the
connection ends.
"""

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import WebSocket, WebSocketDisconnect

PARSE_ERROR = (-32700, "Parse error")
INVALID_REQUEST = (-32600, "Invalid Request")
METHOD_NOT_FOUND = (-32601, "Method not found")
INVALID_PARAMS = (-32602, "Invalid params")

HEARTBEAT = '{"jsonrpc":"2.0","method":"heartbeat"}'
I64 = range(-(2**63), 2**63)


def compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value in I64


def error_object(error: tuple[int, str]) -> dict:
    return {"code": error[0], "message": error[1]}


def error_reply(error: tuple[int, str], request_id: Any = None) -> dict:
    return {"jsonrpc": "2.0", "id": request_id, "error": error_object(error)}


class InvalidRequest(Exception):
    """A value that is not a request object; `id` is the id its error reply carries."""

    def __init__(self, request_id: Any = None):
        super().__init__("Invalid Request")
        self.id = request_id


@dataclass
class Request:
    method: str
    params: Any  # None when absent
    has_id: bool
    id: Any = None


def parse_request(value: Any) -> Request:
    """Checks one request object (a message or a batch element) as JSON-RPC 2.0 says."""
    if not isinstance(value, dict):
        raise InvalidRequest()
    request_id = value.get("id")
    id_ok = request_id is None or isinstance(request_id, str) or _is_number(request_id)
    if (value.get("jsonrpc") != "2.0" or not isinstance(value.get("method"), str) or not id_ok
            or ("params" in value and not isinstance(value["params"], (list, dict)))):
        raise InvalidRequest(request_id if id_ok else None)
    return Request(value["method"], value.get("params"), "id" in value, request_id)


def sum_params(params: Any) -> int | None:
    """The sum of the integers in params (an array, or an object's values); None when params
    are absent or hold anything else (booleans and fractions included), or leave an i64."""
    if isinstance(params, dict):
        params = list(params.values())
    if not isinstance(params, list) or not all(_is_integer(v) for v in params):
        return None
    total = 0
    for value in params:
        total += value
        if total not in I64:
            return None
    return total


@dataclass
class Ticker:
    """One subscription's items, before they start."""

    id: str
    notification: str
    timestamp_field: str | None
    count: int | None
    interval: float

    def item(self, n: int) -> str:
        params: dict[str, Any] = {"subscription": self.id, "n": n}
        if self.timestamp_field is not None:
            params[self.timestamp_field] = time.time_ns() // 1000
        return compact({"jsonrpc": "2.0", "method": self.notification, "params": params})


@dataclass
class Answer:
    """A method's answer: a result or an error object, when it is due, what it starts."""

    result: Any = None
    error: dict | None = None
    delay: float = 0.0
    ticker: Ticker | None = None


@dataclass
class Outcome:
    """What to send for one message (None: nothing), when, and the subscriptions it starts
    once sent."""

    message: Any = None
    delay: float = 0.0
    tickers: list[Ticker] = field(default_factory=list)


class Dispatcher:
    """A connection's state and the pure rules: counters, subscription ids, replies."""

    def __init__(self, methods: dict[str, dict]):
        self.methods = methods
        self.counters: dict[str, int] = {}
        self.subscriptions_made = 0
        # Running subscriptions by id; `unsubscribe` calls `stop` to end one.
        self.running: dict[str, asyncio.Task] = {}

    def receive(self, text: str | None) -> Outcome:
        """Serves one data message (`None`: a binary one)."""
        if text is None:
            return Outcome(error_reply(PARSE_ERROR))
        try:
            value = json.loads(text, parse_constant=_not_json)
        except ValueError:
            return Outcome(error_reply(PARSE_ERROR))
        if isinstance(value, list):
            if not value:
                return Outcome(error_reply(INVALID_REQUEST))
            return self.batch(value)
        reply, delay, ticker = self.serve(value)
        return Outcome(reply, delay, [ticker] if ticker else [])

    def batch(self, requests: list) -> Outcome:
        """Replies in the batch's order as one array, due when the slowest is; nothing when
        every element was a notification."""
        served = [self.serve(request) for request in requests]
        replies = [reply for reply, _, _ in served if reply is not None]
        return Outcome(replies or None, max(delay for _, delay, _ in served),
                       [ticker for _, _, ticker in served if ticker is not None])

    def serve(self, value: Any) -> tuple[dict | None, float, Ticker | None]:
        """One request: (its reply or None for a notification, its delay, what it starts)."""
        try:
            request = parse_request(value)
        except InvalidRequest as invalid:
            return error_reply(INVALID_REQUEST, invalid.id), 0.0, None
        answer = self.call(request.method, request.params)
        if not request.has_id:
            return None, 0.0, answer.ticker  # a notification: the effect only
        reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request.id}
        if answer.error is not None:
            reply["error"] = answer.error
        else:
            reply["result"] = answer.result
        return reply, answer.delay, answer.ticker

    def call(self, name: str, params: Any) -> Answer:
        method = self.methods.get(name)
        if method is None:
            return Answer(error=error_object(METHOD_NOT_FOUND))
        if "reply" in method:
            return self.reply(method, params)
        if "notify" in method:
            counter = method["notify"]
            self.counters[counter] = self.counters.get(counter, 0) + 1
            return Answer(self.counters[counter])
        if "subscribe" in method:
            ticker = self.ticker(method["subscribe"])
            return Answer(ticker.id, ticker=ticker)
        if "unsubscribe" in method:
            if not (isinstance(params, list) and len(params) == 1 and isinstance(params[0], str)):
                return Answer(error=error_object(INVALID_PARAMS))
            task = self.running.pop(params[0], None)
            if task is not None:
                task.cancel()  # it sends nothing more: cancelled at its next await
            return Answer(task is not None)
        fail = method["fail"]
        error = {"code": fail["code"], "message": fail["message"]}
        if "data" in fail:
            error["data"] = fail["data"]
        return Answer(error=error)

    def reply(self, method: dict, params: Any) -> Answer:
        spec, delay = method["reply"], method.get("delay_ms", 0) / 1000
        if spec == "params":
            return Answer(params, delay=delay)
        if spec == "sum":
            total = sum_params(params)
            if total is None:
                return Answer(error=error_object(INVALID_PARAMS), delay=delay)
            return Answer(total, delay=delay)
        if "counter" in spec:
            return Answer(self.counters.get(spec["counter"], 0), delay=delay)
        return Answer(spec["value"], delay=delay)

    def ticker(self, subscribe: dict) -> Ticker:
        self.subscriptions_made += 1
        return Ticker(f"sub-{self.subscriptions_made}", subscribe["notification"],
                      subscribe.get("timestamp_field"), subscribe.get("count"),
                      subscribe["interval_ms"] / 1000)


class Connection:
    """The tasks of one connection: writer, delayed replies, subscriptions, heartbeat."""

    def __init__(self, websocket: WebSocket, methods: dict[str, dict]):
        self.websocket = websocket
        self.dispatcher = Dispatcher(methods)
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.tasks: set[asyncio.Task] = set()

    def spawn(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)
        return task

    async def writer(self) -> None:
        """The only sender on the socket, in queue order."""
        while True:
            text = await self.outbox.get()
            try:
                await self.websocket.send_text(text)
            except (WebSocketDisconnect, RuntimeError, OSError):
                return  # the client is gone; the reader sees it too

    def deliver(self, outcome: Outcome) -> None:
        """Queues the message, then starts the subscriptions it names."""
        if outcome.message is not None:
            self.outbox.put_nowait(compact(outcome.message))
        for ticker in outcome.tickers:
            if ticker.count != 0:
                self.dispatcher.running[ticker.id] = self.spawn(self.items(ticker))

    async def later(self, outcome: Outcome) -> None:
        await asyncio.sleep(outcome.delay)
        self.deliver(outcome)

    async def items(self, ticker: Ticker) -> None:
        n = 0
        while ticker.count is None or n < ticker.count:
            await asyncio.sleep(ticker.interval)
            n += 1
            self.outbox.put_nowait(ticker.item(n))
        self.dispatcher.running.pop(ticker.id, None)

    async def heartbeat(self, period: float) -> None:
        while True:
            await asyncio.sleep(period)
            self.outbox.put_nowait(HEARTBEAT)

    async def serve(self, heartbeat_ms: int | None) -> None:
        self.spawn(self.writer())
        if heartbeat_ms is not None:
            self.spawn(self.heartbeat(heartbeat_ms / 1000))
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return  # the close handshake (same code) is the server library's
                outcome = self.dispatcher.receive(message.get("text"))
                if outcome.delay > 0:
                    self.spawn(self.later(outcome))
                else:
                    self.deliver(outcome)
        finally:
            for task in list(self.tasks):
                task.cancel()
            await asyncio.gather(*self.tasks, return_exceptions=True)


def check(handler: dict) -> None:
    """Refuses what would make a timer that never waits."""
    if not handler.get("methods"):
        raise ValueError("an rpc handler declares at least one method")
    if handler.get("heartbeat_ms") is not None and handler["heartbeat_ms"] < 1:
        raise ValueError("heartbeat_ms is at least 1")


async def serve(websocket: WebSocket, handler: dict) -> None:
    """Serves one accepted connection until the client leaves."""
    await Connection(websocket, handler["methods"]).serve(handler.get("heartbeat_ms"))
