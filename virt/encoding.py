"""HTTP content codings (gzip, deflate, br, zstd): decode at capture, re-encode at replay.

Encoding is deterministic (gzip with mtime 0, fixed levels) so that a body re-encoded after an edit
is the same bytes in every process.
"""

from __future__ import annotations

import gzip
import zlib

import brotli
import zstandard

IDENTITY = frozenset({"", "identity", "none"})
SUPPORTED = ("gzip", "x-gzip", "deflate", "br", "zstd")


class CodingError(ValueError):
    """The body is not valid in the coding its headers claim."""


def normalize_coding(value: str | None) -> str | None:
    """The single content coding named by a Content-Encoding value, or None for identity.

    Stacked codings ("gzip, br") are rare; their bodies fail to decode and are kept as wire bytes.
    """
    if value is None:
        return None
    coding = value.strip().lower()
    return None if coding in IDENTITY else coding


def decode(data: bytes, coding: str) -> bytes:
    """Decode `data` from `coding`. Raises CodingError for an unknown coding or corrupt data."""
    try:
        if coding in ("gzip", "x-gzip"):
            return gzip.decompress(data)
        if coding == "deflate":
            try:
                return zlib.decompress(data)
            except zlib.error:
                return zlib.decompress(data, -zlib.MAX_WBITS)  # raw deflate, as some servers send
        if coding == "br":
            return bytes(brotli.decompress(data))
        if coding == "zstd":
            return _zstd_decode(data)
    except Exception as e:
        raise CodingError(f"body is not valid {coding}: {e}") from e
    raise CodingError(f"unknown content coding {coding!r}")


def _zstd_decode(data: bytes) -> bytes:
    # A decompressobj stops after one frame and returns what it has of a cut one without a
    # word; a body may hold several frames (RFC 8878), and a cut one is corrupt.
    out = []
    while data:
        frame = zstandard.ZstdDecompressor().decompressobj()
        out.append(frame.decompress(data))
        if not frame.eof:
            raise ValueError("the body ends inside a frame")
        data = frame.unused_data
    return b"".join(out)


def encode(data: bytes, coding: str) -> bytes:
    """Encode `data` in `coding`, deterministically."""
    if coding in ("gzip", "x-gzip"):
        return gzip.compress(data, compresslevel=6, mtime=0)
    if coding == "deflate":
        return zlib.compress(data, 6)
    if coding == "br":
        return bytes(brotli.compress(data))
    if coding == "zstd":
        return bytes(zstandard.ZstdCompressor(level=3).compress(data))
    raise CodingError(f"unknown content coding {coding!r}")


def decode_body(raw: bytes, content_encoding: str | None) -> tuple[bytes, str | None]:
    """(decoded body, coding) for a body as sent on the wire with this Content-Encoding value.

    A body that does not decode in the coding its headers claim is kept as it came, coding None,
    so that replay sends exactly those bytes.
    """
    coding = normalize_coding(content_encoding)
    if coding is None or not raw:
        return raw, None
    try:
        return decode(raw, coding), coding
    except CodingError:
        return raw, None
