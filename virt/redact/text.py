"""Bodies redacted as text: JSON too deep or not UTF-8 to parse, and bodies still coded.

The structured walk of virt.redact needs a parsed document; these helpers cover what does not
parse, so that no body is kept with its secrets because it was odd.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from typing import Any

from virt.encoding import normalize_coding
from virt.errors import VirtError
from virt.model import Headers, header

MAX_DEPTH = 100
"""Deeper JSON is redacted as text: the structured walk, JSONPath rules and orjson's writer
(which stops at 254 levels) never see it."""
PREFIX_LIMIT = 16 * 1024 * 1024
"""How much of a body that does not decode is inflated to look for secrets."""

_JSON_MEMBER = re.compile(
    r'"(?P<name>[^"\\]*(?:\\.[^"\\]*)*)"\s*:\s*'
    r'(?P<value>"[^"\\]*(?:\\.[^"\\]*)*"|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)'
)
"""A member of a JSON object: "name": "string" or "name": number (unrolled loops: linear)."""


class UnredactableBody(VirtError):
    """A body holds secrets that cannot be replaced without changing what replay would send."""


def json_depth(data: Any) -> int:
    """How deeply `data` nests (0 for a scalar), without recursion."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            stack.extend((v, depth + 1) for v in value.values())
        elif isinstance(value, list):
            stack.extend((v, depth + 1) for v in value)
        else:
            deepest = max(deepest, depth)
            continue
        deepest = max(deepest, depth + 1)
        if deepest > MAX_DEPTH:
            return deepest
    return deepest


def json_members(text: str, replace: Callable[[str, str | int | float], str | None]) -> str:
    """`text` (JSON, perhaps not valid) with each member's value replaced by what `replace`
    returns for (name, value), written as a JSON string; None keeps the member as it is."""

    def member(m: re.Match[str]) -> str:
        try:
            name = json.loads(f'"{m.group("name")}"')
            value = json.loads(m.group("value"))
        except ValueError:
            return m.group(0)
        new = replace(name, value)
        if new is None:
            return m.group(0)
        start, end = (i - m.start() for i in m.span("value"))
        whole = m.group(0)
        return whole[:start] + json.dumps(new, ensure_ascii=False) + whole[end:]

    return _JSON_MEMBER.sub(member, text)


def still_coded(headers: Headers, decoded: str | None) -> str | None:
    """The Content-Encoding a body is still in: named by its headers, yet not decoded at
    capture (`decoded` None), because virt could not decode it."""
    value = header(headers, "content-encoding")
    if decoded is not None or normalize_coding(value) is None:
        return None
    return value


def readable_prefix(body: bytes, content_encoding: str) -> bytes:
    """As much of `body` as its gzip and deflate layers yield (last applied first), up to
    PREFIX_LIMIT: what a lenient client reads of a body that does not decode whole."""
    data = body
    for coding in reversed([c.strip().lower() for c in content_encoding.split(",")]):
        if coding in ("", "identity"):
            continue
        if coding in ("gzip", "x-gzip"):
            wbits = 16 + zlib.MAX_WBITS
        elif coding == "deflate":
            wbits = zlib.MAX_WBITS if data[:1] == b"\x78" else -zlib.MAX_WBITS
        else:
            return b""  # brotli and zstd are read whole or not at all here
        data = _inflate(data, wbits)
    return data


def _inflate(data: bytes, wbits: int) -> bytes:
    """What zlib yields of `data` before it ends, breaks or passes PREFIX_LIMIT."""
    inflater = zlib.decompressobj(wbits)
    out = bytearray()
    for at in range(0, len(data), 65536):
        try:
            out += inflater.decompress(data[at : at + 65536], PREFIX_LIMIT - len(out))
        except zlib.error:
            break
        if inflater.eof or len(out) >= PREFIX_LIMIT:
            break
    return bytes(out)
