"""Walk: JSON values checked without recursion for depth, size and types JSON has.

Inference, validation and generation all take values from outside (recorded bodies, request
bodies); a value nested ten thousand levels deep must be a clear error, never a RecursionError.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from virt.errors import SchemaError

MAX_DEPTH = 64
"""Nesting a value may have: deeper is a SchemaError, never a RecursionError."""
MAX_NODES = 1_000_000
"""Values a value may hold, by default."""

_SCALARS = (str, int, float, bool, type(None))


def check_depth(
    value: Any, limit: int = MAX_DEPTH, what: str = "a JSON value", max_nodes: int = MAX_NODES
) -> int:
    """Count the values in `value`; SchemaError, naming where, when it nests deeper than `limit`,
    holds more than `max_nodes` values or something JSON has not (bytes, a set, a key that is
    not a string).

    Iterative, so a hostile value cannot make a RecursionError of it; only containers go on the
    stack, and the path is worked out only for the message.
    """
    nodes = 1
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            subs: Any = item.values()
            if not all(type(k) is str for k in item):
                raise SchemaError(f"{what} has a key that is not a string at {_find(value, 0)}")
        elif isinstance(item, list):
            subs = item
        elif isinstance(item, _SCALARS):
            continue
        else:
            raise SchemaError(
                f"{what} holds a {type(item).__name__} at {_find(value, 1)}, which JSON has not"
            )
        if depth >= limit:
            raise SchemaError(
                f"{what} nests deeper than {limit} levels (at {_find(value, 2, limit)})",
                hint="virt describes and checks JSON up to that depth only",
            )
        nodes += len(subs)
        if nodes > max_nodes:
            raise SchemaError(
                f"{what} holds more than {max_nodes:,} values",
                hint="virt describes and checks JSON values up to that size only",
            )
        depth += 1
        for sub in subs:
            if type(sub) not in _SCALARS:
                stack.append((sub, depth))
    return nodes


def _find(value: Any, problem: int, limit: int = MAX_DEPTH) -> str:
    """The pointer of the first place with `problem`: 0 a key that is no string, 1 a value JSON
    has not, 2 a container at depth `limit`. Slow, for messages only."""
    stack: list[tuple[Any, tuple[str | int, ...]]] = [(value, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict | list):
            if problem == 2 and len(where) >= limit:
                return pointer(where)
            if isinstance(item, dict):
                if problem == 0 and not all(type(k) is str for k in item):
                    return pointer(where)
                stack.extend((v, (*where, str(k))) for k, v in item.items())
            else:
                stack.extend((v, (*where, i)) for i, v in enumerate(item))
        elif problem == 1 and type(item) not in _SCALARS:
            return pointer(where)
    return ""


def pointer(parts: Sequence[str | int]) -> str:
    """The JSON pointer (RFC 6901) of a path: "" for the root, "/a~1b/0" for ["a/b", 0]."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
