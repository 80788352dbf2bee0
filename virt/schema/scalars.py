"""Scalars: numbers and strings made inside a schema's bounds, looking like the field they fill.

The bounds come first (minimum, maximum, multipleOf, minLength, maxLength, pattern, format); inside
them, the range recorded for the field (infer's "x-seen") or the range such a field usually has
(virt.schema.fake). A schema whose bounds leave nothing raises Unsatisfiable, which generate turns
into a SchemaError naming where.
"""

from __future__ import annotations

import math
import random
import re
from typing import Any

from virt.schema import fake, keywords
from virt.schema.infer import SEEN

MAX_STRING = 1_000
"""Characters of a generated string, unless minLength asks for more."""
MAX_MIN_LENGTH = 1_000_000
"""minLength above which a string is not generated."""


class Unsatisfiable(Exception):
    """The bounds leave no value: str(e) says why."""


def number(schema: dict[str, Any], name: str, rng: random.Random, integer: bool) -> int | float:
    """An integer or a number inside the schema's bounds."""
    low, high = keywords.bounds(schema, integer)
    if low is not None and high is not None and low > high:
        raise Unsatisfiable("its minimum is above its maximum")
    # the range recorded ("x-seen") if there is one, else where such a field usually is
    usual = seen(schema, "minimum", "maximum") or fake.int_range(name, schema.get("format"))
    lo, hi = keywords.span(low, high, usual)
    if integer and math.ceil(lo) > math.floor(hi):
        raise Unsatisfiable("no integer lies between its bounds")
    step = schema.get("multipleOf")
    if isinstance(step, int | float) and not isinstance(step, bool) and step > 0:
        return _multiple(rng, lo, hi, step, integer)
    if integer:
        return rng.randint(math.ceil(lo), math.floor(hi))
    value = round(rng.uniform(lo, hi), 2)
    if not math.isfinite(value) or not keywords.inside(schema, value):
        value = lo / 2 + hi / 2  # halves first: lo + hi may overflow to infinity
    return value


def _multiple(rng: random.Random, lo: float, hi: float, step: float, integer: bool) -> int | float:
    first, last = math.ceil(lo / step), math.floor(hi / step)
    if first > last:
        raise Unsatisfiable(f"no multiple of {step} lies between its bounds")
    for _ in range(16):
        k = rng.randint(first, min(last, first + 1000))
        value: int | float = k * step
        if integer or isinstance(step, int):
            value = round(value)
        if isinstance(value, int) or (value / step).is_integer():
            return value
    raise Unsatisfiable(f"no multiple of {step} found that floating point can check")


def string(schema: dict[str, Any], name: str, rng: random.Random) -> str:
    """A string of the schema's format, pattern and lengths, looking like what `name` holds."""
    low = schema.get("minLength", 0)
    high = schema.get("maxLength")
    low = low if isinstance(low, int) else 0
    if low > MAX_MIN_LENGTH:
        raise Unsatisfiable(f"its minLength is above {MAX_MIN_LENGTH:,}")
    if isinstance(high, int) and high < low:
        raise Unsatisfiable("its maxLength is below its minLength")
    fmt = schema.get("format")
    value = fake.text(rng, name, fmt if isinstance(fmt, str) else None)
    pattern = schema.get("pattern")
    if isinstance(pattern, str):
        try:
            found = re.search(pattern, value) is not None
        except re.error:
            raise Unsatisfiable("its pattern is not a regular expression") from None
        if not found:
            value = fake.from_pattern(pattern, rng) or value
    cap = max(low, MAX_STRING) if not isinstance(high, int) else high
    recorded = seen(schema, "minLength", "maxLength")
    if recorded is not None and low <= recorded[1] and recorded[0] <= cap:
        # as long as the strings recorded, inside what the schema allows
        low, cap = max(low, int(recorded[0])), min(cap, int(recorded[1]))
    return fake.fit(value, rng, fmt if isinstance(fmt, str) else None, low, cap)


def seen(schema: dict[str, Any], low: str, high: str) -> tuple[float, float] | None:
    """The range recorded for this value (infer's "x-seen" annotation), if any."""
    recorded = schema.get(SEEN)
    if not isinstance(recorded, dict):
        return None
    a: Any = recorded.get(low)
    b: Any = recorded.get(high)
    if not (_finite(a) and _finite(b)) or a > b:
        return None
    return a, b


def _finite(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))
