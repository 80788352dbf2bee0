"""HTTP content codings (gzip, deflate, br, zstd): decode at capture, re-encode at replay.

Encoding is deterministic (gzip with mtime 0, fixed levels) so that a body re-encoded after an edit
is the same bytes in every process. Decoding is bounded: a small body that inflates past a limit
(a "zip bomb") raises BodyTooLarge after producing at most about that limit, never more.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Callable

import brotli
import brotlicffi
import zstandard

from virt.limits import DEFAULT_MAX_BODY, MiB, size_text

IDENTITY = frozenset({"", "identity", "none"})
SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "zstd")

MAX_RATIO = 200
"""A decoded body may be at most this many times its encoded size (past RATIO_FLOOR)."""
RATIO_FLOOR = 1 * MiB
"""Up to this size a decoded body is never refused for its ratio: tiny bodies compress well."""
MAX_LAYERS = 3
"""Stacked codings decoded at most ("gzip, gzip"); more is refused, not kept encoded."""
ZSTD_MAX_WINDOW = 8 * MiB
"""The largest zstd window accepted, as RFC 9659 asks of HTTP decoders."""


class CodingError(ValueError):
    """The body is not valid in the coding its headers claim."""


class BodyTooLarge(CodingError):
    """Decoding the body would pass a bound (size, ratio or layers).

    Unlike a plain CodingError, the body is not kept as it came: a bomb kept encoded would
    hide what is inside it from redaction and matching, so callers refuse it (413 or 502).
    """

    def __init__(self, message: str, limit: int) -> None:
        super().__init__(message)
        self.limit = limit


def normalize_coding(value: str | None) -> str | None:
    """The content coding named by a Content-Encoding value, or None for identity.

    Stacked codings keep their order, lower-cased and comma-separated: "gzip, br" means gzip
    was applied first, so it is decoded last.
    """
    if value is None:
        return None
    layers = [c for c in (part.strip().lower() for part in value.split(",")) if c not in IDENTITY]
    return ", ".join(layers) or None


def decode(data: bytes, coding: str, limit: int = DEFAULT_MAX_BODY) -> bytes:
    """Decode `data` from `coding` (one coding or a stack, "gzip, br").

    Raises BodyTooLarge when the result would pass `limit` bytes, or MAX_RATIO times the size
    of `data` (once past RATIO_FLOOR), or when more than MAX_LAYERS codings are stacked; raises
    CodingError for an unknown coding or corrupt data.
    """
    layers = [c.strip() for c in coding.split(",")]
    if len(layers) > MAX_LAYERS:
        raise BodyTooLarge(
            f"body stacks {len(layers)} content codings ({coding}); virt decodes at most "
            f"{MAX_LAYERS}",
            limit,
        )
    bound = min(limit, max(RATIO_FLOOR, len(data) * MAX_RATIO))
    for layer in reversed(layers):  # the last coding named was applied last
        data = _decode_one(data, layer, bound, len(data), limit)
    return data


def _decode_one(data: bytes, coding: str, bound: int, wire_size: int, limit: int) -> bytes:
    decoder = _DECODERS.get(coding)
    if decoder is None:
        raise CodingError(f"unknown content coding {coding!r}")
    try:
        out = decoder(data, bound)
    except _Over:
        if bound < limit:
            why = f"more than {MAX_RATIO} times its {size_text(wire_size)} in {coding}"
        else:
            why = f"more than {size_text(limit)}"
        raise BodyTooLarge(f"body decodes to {why}", limit) from None
    except Exception as e:
        raise CodingError(f"body is not valid {coding}: {e}") from e
    return out


class _Over(Exception):
    """A decoder produced more than its bound."""


def _inflate(data: bytes, bound: int, wbits: int, members: bool) -> bytes:
    """zlib-family streams, with output bounded as it is produced; gzip may hold several members."""
    out = bytearray()
    while True:
        stream = zlib.decompressobj(wbits)
        rest = data
        while True:
            out += stream.decompress(rest, bound - len(out) + 1)
            if len(out) > bound:
                raise _Over
            if stream.eof:
                break
            rest = stream.unconsumed_tail
            if not rest:
                raise ValueError("the body ends inside the stream")
        # gzip.decompress also skips the zero padding some servers put between members
        data = stream.unused_data.lstrip(b"\0") if members else b""
        if not data:
            return bytes(out)


def _gzip(data: bytes, bound: int) -> bytes:
    if not data.startswith(b"\x1f\x8b"):
        raise gzip.BadGzipFile("not a gzip stream")
    return _inflate(data, bound, 16 + zlib.MAX_WBITS, members=True)


def _deflate(data: bytes, bound: int) -> bytes:
    try:
        return _inflate(data, bound, zlib.MAX_WBITS, members=False)
    except zlib.error:
        # raw deflate, as some servers send
        return _inflate(data, bound, -zlib.MAX_WBITS, members=False)


def _brotli(data: bytes, bound: int) -> bytes:
    # brotlicffi >= 1.2 stops at an output limit; the brotli binding that mitmproxy 11 pins
    # cannot, and one byte of brotli can stand for megabytes
    decoder = brotlicffi.Decompressor()
    out = bytearray(decoder.process(data, output_buffer_limit=bound + 1))
    while len(out) <= bound and not decoder.can_accept_more_data():
        out += decoder.process(b"", output_buffer_limit=bound - len(out) + 1)
    if len(out) > bound:
        raise _Over
    if not decoder.is_finished():
        raise ValueError("the body ends inside the stream")
    return bytes(out)


_ZSTD_MAX_BLOCK_RATIO = 32 * 1024
"""A zstd block of a few bytes can stand for 128 KiB: feed input in slices small enough that
no slice can overshoot the bound by more than what is left of it (or 2 MiB)."""


def _zstd(data: bytes, bound: int) -> bytes:
    # A decompressobj stops after one frame and returns what it has of a cut one without a
    # word; a body may hold several frames (RFC 8878), and a cut one is corrupt.
    out = bytearray()
    params = zstandard.ZstdDecompressor(max_window_size=ZSTD_MAX_WINDOW)
    frame = params.decompressobj()
    pos = 0
    while pos < len(data):
        step = max(64, (bound - len(out)) // _ZSTD_MAX_BLOCK_RATIO)
        out += frame.decompress(data[pos : pos + step])
        pos += step
        if len(out) > bound:
            raise _Over
        if frame.eof:
            # what the frame left of the last slice starts the next frame
            pos = min(pos, len(data)) - len(frame.unused_data)
            frame = params.decompressobj()
            if pos >= len(data):
                return bytes(out)
    if data and not frame.eof:
        raise ValueError("the body ends inside a frame")
    return bytes(out)


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _gzip,
    "x-gzip": _gzip,
    "deflate": _deflate,
    "br": _brotli,
    "zstd": _zstd,
}


def encode(data: bytes, coding: str) -> bytes:
    """Encode `data` in `coding` (one coding or a stack, applied in order), deterministically."""
    for layer in (c.strip() for c in coding.split(",")):
        data = _encode_one(data, layer)
    return data


def _encode_one(data: bytes, coding: str) -> bytes:
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(data, compresslevel=6, mtime=0)
    if coding == "deflate":
        return zlib.compress(data, 6)
    if coding == "br":
        return bytes(brotli.compress(data))
    if coding == "zstd":
        return bytes(zstandard.ZstdCompressor(level=3).compress(data))
    raise CodingError(f"unknown content coding {coding!r}")


def decode_body(
    raw: bytes, content_encoding: str | None, limit: int = DEFAULT_MAX_BODY
) -> tuple[bytes, str | None]:
    """(decoded body, coding) for a body as sent on the wire with this Content-Encoding value.

    A body that does not decode in the coding its headers claim is kept as it came, coding None,
    so that replay sends exactly those bytes. A body that decodes past the bounds raises
    BodyTooLarge: the caller refuses it.
    """
    coding = normalize_coding(content_encoding)
    if coding is None or not raw:
        return raw, None
    try:
        return decode(raw, coding, limit), coding
    except BodyTooLarge:
        raise
    except CodingError:
        return raw, None
