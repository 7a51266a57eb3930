"""Content codings (RFC 9110 section 8.4): decoding request bodies, negotiating and encoding
replies.

Neither FastAPI nor Starlette decodes request bodies, so `decode` does, bounded by the
handler's `max_bytes` (an upload cannot inflate past it). Replies are encoded per handler
rather than by Starlette's `GZipMiddleware`, which cannot honour the vocabulary: it looks for
the substring `gzip` in `Accept-Encoding` (so `gzip;q=0` still gets gzip), encodes error replies
too, adds `Vary: Accept-Encoding` only to replies it considered encoding, is one minimum size
for the whole app, and knows gzip only.
"""

import gzip
import zlib

import brotli

# The codings a handler may list; `x-gzip` is gzip (RFC 9110 section 8.4.1.3).
CODINGS = ("gzip", "deflate", "br")
_ALIASES = {"x-gzip": "gzip"}


class MalformedBody(Exception):
    """The body is not in the coding it claims (truncated, corrupt)."""


class BodyTooLarge(Exception):
    """The decoded body is longer than the limit."""


def content_codings(header: str | None) -> list[str]:
    """The codings of a `Content-Encoding` value, in the order applied, `identity` left out."""
    codings = [c.strip().lower() for c in (header or "").split(",")]
    return [_ALIASES.get(c, c) for c in codings if c and c != "identity"]


def encoded_bound(limit: int) -> int:
    """The longest encoded body whose decoded size may still be within `limit`: gzip, zlib and
    brotli never grow data by more than a fraction of a percent plus a few framing bytes."""
    return limit + limit // 100 + 1024


def decode(body: bytes, codings: list[str], limit: int) -> bytes:
    """Undoes `codings` (applied in that order), never producing more than `limit` + 1 bytes."""
    for coding in reversed(codings):
        body = _unbrotli(body, limit) if coding == "br" else _inflate(body, coding, limit)
    return body


def _inflate(data: bytes, coding: str, limit: int) -> bytes:
    # gzip may hold several members (RFC 1952 section 2.2); deflate is the zlib format.
    wbits = 16 + zlib.MAX_WBITS if coding == "gzip" else zlib.MAX_WBITS
    out = b""
    try:
        while True:
            inflater = zlib.decompressobj(wbits)
            out += inflater.decompress(data, limit + 1 - len(out))
            if len(out) > limit:
                raise BodyTooLarge
            if not inflater.eof:
                raise MalformedBody
            data = inflater.unused_data
            if coding != "gzip" or not data:
                break
    except zlib.error as error:
        raise MalformedBody from error
    if data and coding != "gzip":
        raise MalformedBody  # bytes after the end of the zlib stream
    return out


def _unbrotli(data: bytes, limit: int) -> bytes:
    decompressor = brotli.Decompressor()
    try:
        out = decompressor.process(data, output_buffer_limit=limit + 1)
    except brotli.error as error:
        raise MalformedBody from error
    if len(out) > limit:
        raise BodyTooLarge
    if not decompressor.is_finished():
        raise MalformedBody
    return out



# --- replies -------------------------------------------------------------------------------


def negotiate(accept_encoding: str | None, offered: list[str]) -> str | None:
    """The coding of `offered` to send for an `Accept-Encoding` value (RFC 9110 section
    12.5.3), or None: `q=0` refuses a coding, `*` stands for any coding not named, the highest q
    wins and ties go to the order of `offered`. No header or only `identity`: None."""
    if not accept_encoding:
        return None
    weights: dict[str, float] = {}
    for element in accept_encoding.split(","):
        coding, *params = (part.strip() for part in element.split(";"))
        coding = _ALIASES.get(coding.lower(), coding.lower())
        if coding:
            weights.setdefault(coding, _qvalue(params))
    chosen, best = None, 0.0
    for coding in offered:
        weight = weights.get(coding, weights.get("*", 0.0))
        if weight > best:
            chosen, best = coding, weight
    return chosen


def _qvalue(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                return min(max(float(value.strip()), 0.0), 1.0)
            except ValueError:
                return 0.0
    return 1.0


def encode(body: bytes, coding: str) -> bytes:
    if coding == "gzip":
        return gzip.compress(body)
    if coding == "deflate":
        return zlib.compress(body)
    return brotli.compress(body)
