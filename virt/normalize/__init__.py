"""Canonical forms of requests: what two requests must share to be the same request."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qsl

from virt.model import Keys, Request


def query_pairs(query: str) -> tuple[tuple[str, str], ...]:
    """The query string as a sorted multiset of (name, value): order is the client's whim."""
    return tuple(sorted(parse_qsl(query, keep_blank_values=True)))


def exact_key(request: Request) -> str:
    """A digest of everything exact matching compares: method, origin, path, query multiset, body.

    Header values are left out on purpose: they carry dates, user agents and trace ids that differ
    on every run, and fuzzy matching weighs them instead.
    """
    h = hashlib.sha256()
    for part in (request.method.upper(), request.scheme.lower(), request.host.lower()):
        h.update(part.encode("utf-8", "surrogateescape"))
        h.update(b"\0")
    h.update(str(request.port).encode())
    h.update(b"\0")
    h.update(request.path.encode("utf-8", "surrogateescape"))
    h.update(b"\0")
    for name, value in query_pairs(request.query):
        h.update(name.encode("utf-8", "surrogateescape"))
        h.update(b"=")
        h.update(value.encode("utf-8", "surrogateescape"))
        h.update(b"&")
    h.update(b"\0")
    h.update(hashlib.sha256(request.body).digest())
    return h.hexdigest()[:32]


def keys(request: Request) -> Keys:
    """Every lookup key of `request`, as the store indexes them."""
    from virt.normalize.canonical import canonical_key
    from virt.normalize.route import route_key

    return Keys(exact_key(request), canonical_key(request), route_key(request))
