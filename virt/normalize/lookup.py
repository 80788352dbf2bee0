"""Lookup keys of a request: exact, canonical and route, as the store indexes them."""

from __future__ import annotations

import hashlib

from virt.memo import Memo
from virt.model import Keys, Request
from virt.normalize.uri import byte_pairs, path_form

MEMO_PART = 8 * 1024
"""Requests up to this size (path, query and body) have their exact key remembered."""


def exact_key(request: Request) -> str:
    """A digest of everything exact matching compares: method, origin, path (in its RFC 3986
    normal form), query multiset, body.

    Header values are left out on purpose: they carry dates, user agents and trace ids that differ
    on every run, and fuzzy matching weighs them instead.
    """
    parts = (
        request.method,
        request.scheme,
        request.host,
        request.port,
        request.path,
        request.query,
        request.body,
    )
    if len(request.path) + len(request.query) + len(request.body) <= MEMO_PART:
        found = _remembered.get(parts)  # replay asks for the same requests again and again
        if found is None:
            found = _exact_key(*parts)
            _remembered.put(parts, found)
        return found
    return _exact_key(*parts)


def _exact_key(
    method: str, scheme: str, host: str, port: int, path: str, query: str, body: bytes
) -> str:
    h = hashlib.sha256()
    for part in (method.upper(), scheme.lower(), host.lower()):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    h.update(str(port).encode())
    h.update(b"\0")
    h.update(path_form(path).encode())
    h.update(b"\0")
    for name, value in sorted(byte_pairs(query)):
        # bytes, not text: no two different queries may share a key
        h.update(f"{len(name)}:{len(value)}:".encode())
        h.update(name)
        h.update(value)
    h.update(b"\0")
    h.update(hashlib.sha256(body).digest())
    return h.hexdigest()[:32]


_remembered: Memo[tuple[str, str, str, int, str, str, bytes], str] = Memo(4096, again=True)


def keys(request: Request) -> Keys:
    """Every lookup key of `request`, as the store indexes them."""
    # imported on first use: a caller that needs only exact_key skips their parsers
    from virt.normalize.canonical import canonical_key
    from virt.normalize.route import route_key

    return Keys(exact_key(request), canonical_key(request), route_key(request))
