"""Generate: a value valid against a JSON Schema, the same for the same seed everywhere.

Every value gets its own random.Random, seeded from sha256(seed, name, JSON pointer of the value),
never from Python's hash(): the same (schema, seed) gives the same value on every machine and in
every process, and a value does not change because a sibling appeared or went. The schema's own
examples come first (examples[0], example, default) when they are valid; otherwise types, bounds,
formats, enums and combinators are followed, with strings and numbers that look real
(virt.schema.fake). Recursive schemas stop: past SOFT_DEPTH levels, or inside a $ref already being
expanded, only what the schema requires is made (null where allowed, no optional properties, the
fewest items); a schema that still needs more than HARD_DEPTH levels is a SchemaError naming where.
"""

from __future__ import annotations

import copy
import hashlib
import random
from typing import Any

from virt.errors import SchemaError
from virt.schema import keywords, scalars
from virt.schema.combine import SCALAR_RANK, Combiner

SOFT_DEPTH = 8
"""Nesting past which only what the schema requires is generated."""
HARD_DEPTH = 32
"""Nesting no generated value goes past: a schema that demands more is a SchemaError."""
MAX_NODES = 5_000
"""Values in one generated value; past it, only what the schema requires."""
MAX_ITEMS = 1_000
"""minItems or minProperties above which a schema is not generated."""
MAX_CHARS = 1_000_000
"""Characters in all the strings of one generated value."""

_NOTHING = object()
_KINDS = frozenset({"null", "boolean", "integer", "number", "string", "array", "object"})


def generate(
    schema: dict[str, Any], seed: bytes, *, name: str = "", root: dict[str, Any] | None = None
) -> Any:
    """A value valid against `schema`, the same for the same (schema, seed) on every machine
    and process.

    `name` is the field the value is for ("email", "created_at"): it picks realistic strings and
    numbers. `root` is the document "#/..." $refs point into (an OpenAPI document); without it,
    `schema` itself. SchemaError, naming the pointer, when the schema cannot be satisfied within
    the bounds of this module; never another exception, whatever the schema holds.
    """
    gen = _Gen(seed, name, schema if root is None else root)
    try:
        return gen.make(schema, "", name, 0, (), False)
    except (OverflowError, ValueError, TypeError, RecursionError) as e:
        # numbers past a float's range, keywords of the wrong JSON type: a schema to fix
        raise SchemaError(
            "cannot generate a value: the schema holds what virt cannot follow"
            f" ({type(e).__name__})"
        ) from None


class _Gen(Combiner):
    __slots__ = ("chars", "name", "nodes")

    def __init__(self, seed: bytes, name: str, root: dict[str, Any]) -> None:
        self.seed = hashlib.sha256(seed + b"\0" + name.encode()).digest()
        self.name = name
        self.root = root
        self.nodes = 0
        self.chars = 0

    # --- values -------------------------------------------------------------------------------

    def make(
        self,
        schema: Any,
        at: str,
        name: str,
        depth: int,
        refs: tuple[str, ...],
        minimal: bool,
    ) -> Any:
        self.nodes += 1
        if depth > HARD_DEPTH or self.nodes > 4 * MAX_NODES:
            raise self.fail(
                at,
                f"the schema demands more than {HARD_DEPTH} levels or {4 * MAX_NODES:,} values"
                " (a required property that recurses?)",
                refs[-1] if refs else "",
            )
        minimal = minimal or depth > SOFT_DEPTH or self.nodes > MAX_NODES
        schema, refs, recursed = self.resolve(schema, at, refs)
        if schema is True:
            schema = {}
        if not isinstance(schema, dict):
            raise self.fail(at, "the schema allows no value", refs[-1] if refs else "")
        minimal = minimal or recursed
        example = self.example(schema, refs)
        if example is not _NOTHING:
            return example
        # oneOf, not and allOf are followed simply; the value is checked, and on failure other
        # branches and other optional properties are tried
        check = "oneOf" in schema or "not" in schema or "allOf" in schema
        value = None
        for attempt in range(4 if check else 1):
            value = self.build(schema, at, name, depth, refs, minimal, attempt)
            if not check or keywords.valid_in(self.root, schema, value):
                break
        return value

    def build(
        self,
        schema: dict[str, Any],
        at: str,
        name: str,
        depth: int,
        refs: tuple[str, ...],
        minimal: bool,
        attempt: int,
    ) -> Any:
        schema, refs, recursed = self.combine(schema, at, refs, minimal, attempt)
        minimal = minimal or recursed
        example = self.example(schema, refs)
        if example is not _NOTHING:
            return example
        rng = self.rng(at, f"#{attempt}" if attempt else "")
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            values = schema["enum"]
            real = [v for v in values if v is not None] or values
            return copy.deepcopy(real[rng.randrange(len(real))])
        kind = self.kind(schema, minimal)
        if kind == "null":
            return None
        if kind == "boolean":
            return rng.random() < 0.5
        if kind in ("integer", "number"):
            return self.number(schema, at, name, rng, kind == "integer")
        if kind == "string":
            return self.string(schema, at, name, rng)
        if kind == "array":
            return self.array(schema, at, name, depth, refs, minimal, rng)
        return self.object(schema, at, depth, refs, minimal, rng)

    def example(self, schema: dict[str, Any], refs: tuple[str, ...]) -> Any:
        """The schema's own example, when it has one and it is valid."""
        for key in ("examples", "example", "default"):
            if key not in schema:
                continue
            value = schema[key]
            if key == "examples":
                if not isinstance(value, list) or not value:
                    continue
                value = value[0]
            if keywords.valid_in(self.root, schema, value):
                return copy.deepcopy(value)
        return _NOTHING

    def kind(self, schema: dict[str, Any], minimal: bool) -> str:
        types = keywords.types(schema)
        if schema.get("nullable") is True and "null" not in types and types:
            types = [*types, "null"]
        if not types:
            types = [keywords.implied(schema)]
        types = [t for t in types if t in _KINDS] or ["string"]
        if minimal and "null" in types:
            return "null"
        real = [t for t in types if t != "null"] or ["null"]
        if minimal:
            return min(real, key=lambda t: SCALAR_RANK.get(t, 3))
        return real[0]

    def number(
        self, schema: dict[str, Any], at: str, name: str, rng: random.Random, integer: bool
    ) -> int | float:
        try:
            return scalars.number(schema, name, rng, integer)
        except scalars.Unsatisfiable as e:
            raise self.fail(at, str(e)) from None

    def string(self, schema: dict[str, Any], at: str, name: str, rng: random.Random) -> str:
        try:
            value = scalars.string(schema, name, rng)
        except scalars.Unsatisfiable as e:
            raise self.fail(at, str(e)) from None
        self.chars += len(value)
        if self.chars > MAX_CHARS:
            raise self.fail(at, f"the value would hold more than {MAX_CHARS:,} characters")
        return value

    def array(
        self,
        schema: dict[str, Any],
        at: str,
        name: str,
        depth: int,
        refs: tuple[str, ...],
        minimal: bool,
        rng: random.Random,
    ) -> list[Any]:
        low = schema.get("minItems", 0)
        low = low if isinstance(low, int) else 0
        high = schema.get("maxItems")
        high = high if isinstance(high, int) else None
        if low > MAX_ITEMS:
            raise self.fail(at, f"its minItems is above {MAX_ITEMS:,}")
        if high is not None and high < low:
            raise self.fail(at, "its maxItems is below its minItems")
        prefix = schema.get("prefixItems")
        prefix = prefix if isinstance(prefix, list) else []
        items = schema.get("items", {})
        if minimal:
            count = low
        else:
            start = max(low, 1)
            count = rng.randint(start, max(start, 3))
        if high is not None:
            count = min(count, high)
        if items is False:
            count = min(count, len(prefix))
            if count < low:
                raise self.fail(at, "its minItems needs more items than its prefixItems allow")
        out: list[Any] = []
        seen: set[str] = set()
        unique = schema.get("uniqueItems") is True
        attempts = 0
        while len(out) < count and attempts < 3 * count + 3:
            i = len(out)
            sub = prefix[i] if i < len(prefix) else items
            where = f"{at}/{i}" if attempts < count else f"{at}/{i}#{attempts}"
            attempts += 1
            value = self.make(sub, where, name, depth + 1, refs, minimal)
            if unique:
                key = repr(value)
                if key in seen:
                    continue
                seen.add(key)
            out.append(value)
        if len(out) < low:
            raise self.fail(at, f"{low} distinct items could not be made")
        return out

    def object(
        self,
        schema: dict[str, Any],
        at: str,
        depth: int,
        refs: tuple[str, ...],
        minimal: bool,
        rng: random.Random,
    ) -> dict[str, Any]:
        props = schema.get("properties")
        props = props if isinstance(props, dict) else {}
        listed = schema.get("required")
        required = [r for r in listed if isinstance(r, str)] if isinstance(listed, list) else []
        extra = schema.get("additionalProperties", {})
        low = schema.get("minProperties", 0)
        low = low if isinstance(low, int) else 0
        high = schema.get("maxProperties")
        if low > MAX_ITEMS:
            raise self.fail(at, f"its minProperties is above {MAX_ITEMS:,}")
        wanted = list(required)
        omit = set(schema.get("x-virt-omit", []))
        optional = [
            k for k, v in props.items() if k not in required and v is not False and k not in omit
        ]
        if not minimal:
            wanted += [k for k in optional if rng.random() < 0.7]
        for k in optional:
            if len(wanted) >= low:
                break
            if k not in wanted:
                wanted.append(k)
        if isinstance(high, int) and len(wanted) > high:
            wanted = (
                required + [k for k in wanted if k not in required][: max(0, high - len(required))]
            )
        together = (
            schema.get("not", {}).get("required") if isinstance(schema.get("not"), dict) else None
        )
        if isinstance(together, list) and together and all(k in wanted for k in together):
            # "not all of these at once": leave out the last optional one of them
            spare = [k for k in together if k not in required]
            if spare:
                wanted.remove(spare[-1])
        out: dict[str, Any] = {}
        for key in wanted:
            sub = props.get(key, extra if isinstance(extra, dict) else {})
            if sub is False:
                raise self.fail(_child(at, key), "a required property the schema forbids")
            out[key] = self.make(sub, _child(at, key), key, depth + 1, refs, minimal)
        n = 0
        while len(out) < low and extra is not False:
            n += 1
            key = f"key_{n}"
            if key not in out:
                out[key] = self.make(extra, _child(at, key), key, depth + 1, refs, minimal)
        if len(out) < low:
            raise self.fail(at, f"{low} properties are required but the schema allows fewer")
        return out


def _child(at: str, key: str) -> str:
    """The JSON pointer of property `key` of the value at `at`."""
    if "~" in key or "/" in key:
        key = key.replace("~", "~0").replace("/", "~1")
    return f"{at}/{key}"
