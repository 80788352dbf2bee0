"""Percent-encoding forms: the one spelling of a path, a query or a form body that matching uses.

`/r/<sub>`, `/r/%3Csub%3E` and `/r/%3csub%3e` name the same resource, and so do `%7Euser` and
`~user` (RFC 3986, section 6.2.2): paths are compared in one normalised spelling, while the
stored request keeps the one it was sent with. Query strings and form bodies are compared as
decoded pairs, read as bytes so that any byte, UTF-8 or not, keeps its own value.
"""

from __future__ import annotations

import re
import string
from urllib.parse import unquote_to_bytes

_UNRESERVED = frozenset((string.ascii_letters + string.digits + "-._~").encode())
_PATH_SAFE = _UNRESERVED | frozenset(b"!$&'()*+,;=:@/")
"""Bytes that stand for themselves in a path: unreserved characters, sub-delims, ':', '@'
and the '/' between segments (RFC 3986, section 3.3)."""
_HEX = frozenset(b"0123456789abcdefABCDEF")
_PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


def path_form(path: str) -> str:
    """`path` as RFC 3986 normalises it: escapes in upper case, unreserved characters decoded,
    and every byte that must be escaped (`<`, a space, non-ASCII, a stray `%`) escaped.

    Reserved characters keep their escapes (`%2F` is not `/`), so the form never changes
    which segments a path has.
    """
    if _PLAIN_PATH.fullmatch(path):
        return path  # the common case: nothing to rewrite
    raw = path.encode("utf-8", "surrogateescape")  # surrogates stand for the bytes sent
    out: list[str] = []
    i, n = 0, len(raw)
    while i < n:
        b = raw[i]
        if b == 0x25 and i + 2 < n and raw[i + 1] in _HEX and raw[i + 2] in _HEX:
            value = int(raw[i + 1 : i + 3], 16)
            out.append(chr(value) if value in _UNRESERVED else f"%{value:02X}")
            i += 3
            continue
        out.append(chr(b) if b in _PATH_SAFE else f"%{b:02X}")
        i += 1
    return "".join(out)


def text(value: bytes) -> str:
    """Decoded bytes as text: UTF-8 when they are, else with the other bytes shown as \\xNN,
    so that text never holds a surrogate that an encoder would refuse."""
    try:
        return value.decode("utf-8")
    except UnicodeDecodeError:
        return value.decode("utf-8", "backslashreplace")


def byte_pairs(query: str | bytes) -> list[tuple[bytes, bytes]]:
    """The (name, value) pairs of a query string or a form body, in order, escapes decoded as
    bytes: `%F6` and `%E9` stay different values, where a text decoding turns both into U+FFFD.
    Read as urllib's parse_qsl reads it otherwise ('+' is a space, empty fields are skipped)."""
    raw = query if isinstance(query, bytes) else query.encode("utf-8", "surrogateescape")
    out = []
    for field in raw.split(b"&"):
        if field:
            name, _, value = field.partition(b"=")
            out.append((_unquote(name), _unquote(value)))
    return out


def pairs(query: str | bytes) -> list[tuple[str, str]]:
    """byte_pairs as text (see `text`)."""
    return [(text(k), text(v)) for k, v in byte_pairs(query)]


def query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    """The query string as a sorted multiset of (name, value): order is the client's whim, and
    escapes are decoded, so `%3C` and `<` are the same value."""
    return tuple(sorted(pairs(query)))


def _unquote(value: bytes) -> bytes:
    return unquote_to_bytes(value.replace(b"+", b" "))
