"""What a stage's hit may differ in, and how its cursor names the operation asked for.

The engine keys each recorded sequence by a cursor (session, stage key, operation), so that
requests for different operations on the same URL and body keep sequences of their own; these
helpers run on every matched request, apart from how the engine finds its candidates.
"""

from __future__ import annotations

from virt.match.score import Side
from virt.model import Request
from virt.normalize.fields import (
    OPERATION_HEADERS,
    Fields,
    Operation,
    header_fields,
    query_fields,
)


def unsigned(request: Request) -> Fields:
    """What a canonical hit can differ in: headers, and query values (signing parameters)."""
    return {**query_fields(request), **header_fields(request)}


def recorded_operation(side: Side) -> Operation:
    """The operation headers of a recorded request, as `operation` gives them for a sent one."""
    found = []
    for name in sorted(OPERATION_HEADERS):
        value = side.fields.get(f"header:{name}")
        if value is not None:
            found.append((name, value))
    return tuple(found)


def named(asked: Operation) -> str:
    """A cursor suffix naming the operation asked for, so that requests for different
    operations on the same URL and body keep sequences of their own."""
    return "".join(f"\0{name}={value}" for name, value in asked)
