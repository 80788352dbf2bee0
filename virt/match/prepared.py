"""Prepared: what matching needs to know of a request, worked out in one go.

Parsing and hashing a request's body is the heavy part of matching it, and needs no store: a
door hands a large request's preparation to a worker thread, so that one 20 MB body does not
hold up every other client on the event loop, and the engine takes the result as it is.
"""

from __future__ import annotations

from dataclasses import dataclass

from virt.match.score import Side
from virt.model import Request
from virt.normalize import exact_key
from virt.normalize.canonical import canonical_key
from virt.normalize.fields import Operation, operation
from virt.normalize.route import route_key


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request's keys at every stage, its operation headers and its comparable fields."""

    key: str
    """The exact key (virt.normalize.exact_key)."""
    canonical: str
    """The canonical key (virt.normalize.canonical.canonical_key)."""
    route: str
    """The route key of its candidate group (virt.normalize.route.route_key)."""
    asked: Operation
    """Its operation headers (X-Amz-Target, SOAPAction)."""
    side: Side
    """Its fields and JSON data, as scoring compares them."""


def prepare(request: Request) -> Prepared:
    """Everything the engine computes from `request` alone. Pure: safe on any thread."""
    return Prepared(
        exact_key(request),
        canonical_key(request),
        route_key(request),
        operation(request),
        Side.of(request),
    )
