"""Keywords: what a JSON Schema's keywords say, read simply, for generating values from it.

Types (declared or implied by other keywords), numeric bounds, two schemas merged into one
(allOf, a chosen anyOf branch), and a validity check of a value against a schema inside a root
document, with $refs resolving there.
"""

from __future__ import annotations

import threading
from typing import Any

from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError as JsonSchemaError
from referencing.exceptions import Unresolvable


def types(schema: Any) -> list[str]:
    if not isinstance(schema, dict):
        return []
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def implied(schema: dict[str, Any]) -> str:
    """The type a schema without "type" means, from its keywords; a string when nothing says."""
    keys = schema.keys()
    if keys & {
        "properties",
        "required",
        "additionalProperties",
        "minProperties",
        "patternProperties",
    }:
        return "object"
    if keys & {"items", "prefixItems", "minItems", "maxItems", "uniqueItems"}:
        return "array"
    if keys & {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf"}:
        return "number"
    return "string"


def span(low: float | None, high: float | None, usual: tuple[float, float]) -> tuple[float, float]:
    """Where to draw a number from: the usual range of its field name, inside the schema's
    bounds when they allow it, else the bounds (with a span of 1000 where one side is open)."""
    u_lo, u_hi = usual
    if low is None and high is None:
        return u_lo, u_hi
    if low is None:
        assert high is not None
        return (u_lo, min(u_hi, high)) if u_lo <= high else (high - 1000, high)
    if high is None:
        return (max(u_lo, low), u_hi) if u_hi >= low else (low, low + 1000)
    lo, hi = max(low, u_lo), min(high, u_hi)
    return (lo, hi) if lo <= hi else (low, high)


def bounds(schema: dict[str, Any], integer: bool) -> tuple[float | None, float | None]:
    """The inclusive bounds of a number schema (exclusive ones moved inward)."""
    low: float | None = None
    high: float | None = None
    nudge = 1 if integer else 0.01
    for key, value in schema.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if key == "minimum":
            low = value if low is None else max(low, value)
        elif key == "exclusiveMinimum":
            low = value + nudge if low is None else max(low, value + nudge)
        elif key == "maximum":
            high = value if high is None else min(high, value)
        elif key == "exclusiveMaximum":
            high = value - nudge if high is None else min(high, value - nudge)
    return low, high


def inside(schema: dict[str, Any], value: float) -> bool:
    low, high = bounds(schema, False)
    return (low is None or value >= low) and (high is None or value <= high)


_LOWER = {"minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties"}
_UPPER = {"maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties"}


def merge(a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
    """Both schemas at once, simply: properties and required joined, bounds tightened, types
    intersected; a property in both becomes an allOf of the two."""
    out = dict(a)
    for key, value in b.items():
        if key not in out:
            out[key] = value
        elif key == "properties" and isinstance(value, dict) and isinstance(out[key], dict):
            props = dict(out[key])
            for name, sub in value.items():
                props[name] = {"allOf": [props[name], sub]} if name in props else sub
            out[key] = props
        elif key == "required" and isinstance(value, list) and isinstance(out[key], list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key == "type":
            out[key] = meet(types(out), types({"type": value})) or value
        elif key in _LOWER and isinstance(value, int | float):
            out[key] = max(out[key], value)
        elif key in _UPPER and isinstance(value, int | float):
            out[key] = min(out[key], value)
        elif key == "enum" and isinstance(value, list) and isinstance(out[key], list):
            both = [v for v in out[key] if v in value]
            out[key] = both or value
        elif key in ("allOf", "anyOf", "oneOf") and isinstance(value, list):
            out["allOf"] = [*out.get("allOf", []), {key: value}]
        else:
            out[key] = value
    return out


def meet(a: list[str], b: list[str]) -> list[str]:
    """Types allowed by both: integer is a number."""
    both = [t for t in a if t in b]
    if "integer" in a and "number" in b and "integer" not in both:
        both.append("integer")
    if "number" in a and "integer" in b and "integer" not in both:
        both.append("integer")
    return both


_checkers: dict[int, tuple[dict[str, Any], Draft202012Validator]] = {}
_checkers_lock = threading.Lock()


def valid_in(root: dict[str, Any], schema: dict[str, Any], value: Any) -> bool:
    """Whether `value` follows `schema`, a schema inside `root` (its $refs resolve there)."""
    key = id(root)
    with _checkers_lock:
        entry = _checkers.get(key)
        if entry is None or entry[0] is not root:
            if len(_checkers) >= 64:
                _checkers.clear()
            entry = (
                root,
                Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER),
            )
            _checkers[key] = entry
    try:
        return bool(entry[1].evolve(schema=schema).is_valid(value))
    except (Unresolvable, JsonSchemaError, RecursionError, TypeError, ValueError):
        # a broken $ref or keyword around it: then it is no example to trust
        return False
