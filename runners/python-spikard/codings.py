"""Compressed request bodies (fixtures/README.md, "Compressed request bodies"), in the handler.

Spikard 0.17.2 does not decode request bodies: it parses a JSON, form or multipart body as it
arrives, so a compressed one fails there with Spikard's own 400 before the handler runs
(README.md, "Divergences"). A `text` body reaches the handler as sent, and so does a JSON body
that claims a coding it is not in (it parsed as plain JSON): the handler decodes the raw body
(gzip and deflate, with the standard library's zlib), never past `max_bytes`, and answers the
canonical 400 or 413 when that fails.
"""

from __future__ import annotations

import zlib

DECODABLE = ("gzip", "deflate")
_ALIASES = {"x-gzip": "gzip"}


class MalformedBody(Exception):
    """The body is not in the coding it claims."""


class BodyTooLarge(Exception):
    """The decoded body is longer than the limit."""


def content_codings(header: str | None) -> list[str]:
    """The codings of a `Content-Encoding` value, in the order applied, `identity` left out."""
    codings = [c.strip().lower() for c in (header or "").split(",")]
    return [_ALIASES.get(c, c) for c in codings if c and c != "identity"]


def decode(body: bytes, codings: list[str], limit: int) -> bytes:
    """Undoes `codings` (applied in that order), never producing more than `limit` + 1 bytes."""
    for coding in reversed(codings):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS)
        try:
            body = inflater.decompress(body, limit + 1)
        except zlib.error as error:
            raise MalformedBody from error
        if len(body) > limit:
            raise BodyTooLarge
        if not inflater.eof or inflater.unused_data:
            raise MalformedBody
    return body
