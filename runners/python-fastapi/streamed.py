"""Streamed replies (fixtures/README.md, "Streamed replies"): a Starlette `StreamingResponse` of
the handler's items, each one written (and flushed by uvicorn, chunked on HTTP/1.1) as soon as
it is produced, `interval_ms` apart."""

import asyncio
import json
from typing import Any, AsyncIterator

from fastapi.responses import StreamingResponse

# Starlette adds `; charset=utf-8` to text/* media types.
_MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv", "text": "text/plain"}


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _csv_field(value: Any) -> str:
    # Numbers and booleans as their JSON text. Written by hand rather than with the csv module,
    # which quotes a lone empty field and writes Python's `True`.
    text = value if isinstance(value, str) else _json_text(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def encode_item(format_: str, item: Any) -> bytes:
    if format_ == "ndjson":
        return (_json_text(item) + "\n").encode()
    if format_ == "csv":
        return (",".join(_csv_field(value) for value in item) + "\r\n").encode()
    return item.encode()


class Stream:
    """One handler's `response.stream`."""

    def __init__(self, spec: dict):
        self.media_type = _MEDIA_TYPES[spec["format"]]
        self.pieces = [encode_item(spec["format"], item) for item in spec.get("items", [])]
        self.interval = spec.get("interval_ms", 0) / 1000

    async def pieces_paced(self) -> AsyncIterator[bytes]:
        for index, piece in enumerate(self.pieces):
            if index:
                await asyncio.sleep(self.interval)
            yield piece

    def response(self, status: int, headers: dict[str, str]) -> StreamingResponse:
        return StreamingResponse(self.pieces_paced(), status, headers, self.media_type)
