"""Streamed replies (fixtures/README.md, "Streamed replies"): the items' bytes.

Spikard 0.17.2's Python handlers return one JSON envelope whose `content` is the whole body as a
string (no iterator, no bytes, no flush), so a stream is sent as one body, with its
`Content-Length`, right away (no `interval_ms` pacing): README.md, "Divergences".
"""

from __future__ import annotations

import json
from typing import Any

MEDIA_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv; charset=utf-8",
               "text": "text/plain; charset=utf-8"}


def _json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def _csv_field(value: Any) -> str:
    # Numbers and booleans as their JSON text; quoted only when holding `,`, `"`, CR or LF.
    text = value if isinstance(value, str) else _json_text(value)
    if any(c in text for c in ',"\r\n'):
        return '"' + text.replace('"', '""') + '"'
    return text


def item_text(format_: str, item: Any) -> str:
    if format_ == "ndjson":
        return _json_text(item) + "\n"
    if format_ == "csv":
        return ",".join(_csv_field(value) for value in item) + "\r\n"
    return item


def body(spec: dict[str, Any]) -> tuple[str, str]:
    """(the whole body, its content type) of a `response.stream`."""
    return "".join(item_text(spec["format"], item) for item in spec.get("items", [])), MEDIA_TYPES[spec["format"]]
