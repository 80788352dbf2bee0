"""Lookup keys of a request: exact, canonical and route, as the store indexes them."""

from __future__ import annotations

import hashlib

from virt.model import Keys, Request
from virt.normalize.uri import byte_pairs, path_form


def exact_key(request: Request) -> str:
    """A digest of everything exact matching compares: method, origin, path (in its RFC 3986
    normal form), query multiset, body.

    Header values are left out on purpose: they carry dates, user agents and trace ids that differ
    on every run, and fuzzy matching weighs them instead.
    """
    h = hashlib.sha256()
    for part in (request.method.upper(), request.scheme.lower(), request.host.lower()):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    h.update(str(request.port).encode())
    h.update(b"\0")
    h.update(path_form(request.path).encode())
    h.update(b"\0")
    for name, value in sorted(byte_pairs(request.query)):
        # bytes, not text: no two different queries may share a key
        h.update(f"{len(name)}:{len(value)}:".encode())
        h.update(name)
        h.update(value)
    h.update(b"\0")
    h.update(hashlib.sha256(request.body).digest())
    return h.hexdigest()[:32]


def keys(request: Request) -> Keys:
    """Every lookup key of `request`, as the store indexes them."""
    # imported on first use: a caller that needs only exact_key skips their parsers
    from virt.normalize.canonical import canonical_key
    from virt.normalize.route import route_key

    return Keys(exact_key(request), canonical_key(request), route_key(request))
