"""Shape drift: JSON bodies compared by what a client reads (fields, types, nulls, enums),
never by their values, so ids, timestamps and other volatile values never count as drift.

Every sample of a side is walked into spots, one per JSON path ($, $.items, $.items[],
$.items[].status): the types seen there, how often an object had the key, and the strings
seen. Two sides' spots are then compared path by path; below a field reported as added,
removed or retyped nothing more is reported, so one change is one finding.

Enums come from the recorded side's inferred schema (virt.schema.infer, whose enum rule keeps
ids and names from ever being a closed set): a live string outside one is a new value.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from virt.drift.finding import Finding, Kind, example
from virt.errors import SchemaError
from virt.normalize.route import is_param
from virt.schema.infer import ENUM_MIN_SAMPLES, infer

ROOT = "$"
MAX_DEPTH = 64
"""Deeper values are not walked (a body nested this deep is no contract anyone reads)."""
MAX_NODES = 200_000
"""JSON values walked per side; the rest of the samples are left out."""
MAX_KEYS = 256
"""An object with more keys is taken for a map keyed by data: its values share one path
($.by_day{}), as are objects whose every key is an id or a date."""
MAX_STRINGS = 64
"""Distinct strings kept per path, for enum checks."""
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_\-]*")
_DATE_KEY = re.compile(r"\d{4}-\d{2}(?:-\d{2})?(?:[T ][0-9:.]+Z?)?")


def child(path: str, key: str) -> str:
    """The path of member `key` of the object at `path`."""
    return f"{path}.{key}" if _NAME.fullmatch(key) else f'{path}["{key}"]'


def _type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


@dataclass
class Spot:
    """What the samples had at one path."""

    types: set[str] = field(default_factory=set)
    objects: int = 0
    """Objects seen here (the parents of this path's members)."""
    examples: dict[str, Any] = field(default_factory=dict)
    """The first value seen of each type."""
    strings: set[str] = field(default_factory=set)
    string_count: int = 0
    overflow: bool = False
    """More distinct strings than MAX_STRINGS: the set is incomplete."""

    def add(self, value: Any) -> None:
        kind = _type(value)
        self.types.add(kind)
        self.examples.setdefault(kind, value)
        if kind == "string":
            self.string_count += 1
            if len(self.strings) < MAX_STRINGS:
                self.strings.add(value)
            elif value not in self.strings:
                self.overflow = True

    def example(self) -> str | None:
        """A value seen here, non-null first."""
        for kind, value in self.examples.items():
            if kind != "null":
                return example(value)
        return example(None) if self.examples else None


def spots(samples: Sequence[Any]) -> dict[str, Spot]:
    """Every path of `samples` with what was seen there."""
    out: dict[str, Spot] = {}
    budget = [MAX_NODES]

    def walk(value: Any, path: str, depth: int) -> None:
        if budget[0] <= 0 or depth > MAX_DEPTH:
            return
        budget[0] -= 1
        spot = out.setdefault(path, Spot())
        spot.add(value)
        if isinstance(value, dict):
            spot.objects += 1
            if len(value) > MAX_KEYS or _keyed_by_data(value):
                for item in value.values():
                    walk(item, path + "{}", depth + 1)
                return
            for key, item in value.items():
                walk(item, child(path, str(key)), depth + 1)
        elif isinstance(value, list):
            for item in value:
                walk(item, path + "[]", depth + 1)

    for sample in samples:
        walk(sample, ROOT, 0)
    return out


def _keyed_by_data(obj: dict[Any, Any]) -> bool:
    """An object whose every key is an id or a date ({"42": …}, {"2026-01-01": …}): a map,
    whose keys change with the data and are no fields."""
    return bool(obj) and all(
        is_param(k) or _DATE_KEY.fullmatch(k) for k in obj if isinstance(k, str)
    )


def enums(samples: Sequence[Any]) -> dict[str, list[str]]:
    """The closed sets of strings the recorded samples show, by path (virt.schema.infer's
    enum rule); none when the samples cannot be inferred."""
    try:
        schema = infer(samples)
    except SchemaError:
        return {}
    return dict(_enums(schema, ROOT, 0))


def _enums(schema: Any, path: str, depth: int) -> Iterator[tuple[str, list[str]]]:
    if not isinstance(schema, dict) or depth > MAX_DEPTH:
        return
    if isinstance(schema.get("enum"), list):
        yield path, [v for v in schema["enum"] if isinstance(v, str)]
    for branch in schema.get("anyOf", ()):
        yield from _enums(branch, path, depth + 1)
    for key, sub in (schema.get("properties") or {}).items():
        yield from _enums(sub, child(path, key), depth + 1)
    if isinstance(schema.get("items"), dict):
        yield from _enums(schema["items"], path + "[]", depth + 1)
    if isinstance(schema.get("additionalProperties"), dict):
        yield from _enums(schema["additionalProperties"], path + "{}", depth + 1)


def _parent(path: str) -> tuple[str, bool]:
    """The parent path, and whether `path` is a member of an object there (not array items)."""
    if path.endswith("[]"):
        return path[:-2], False
    if path.endswith("{}"):
        return path[:-2], False
    if path.endswith('"]'):
        return path[: path.rindex('["')], True
    return path[: path.rindex(".")], True


def _under(path: str, prefixes: list[str]) -> bool:
    return any(path.startswith(p) and path[len(p)] in ".[{" for p in prefixes if len(path) > len(p))


def _named(types: set[str]) -> list[str]:
    return sorted(types - {"null"})


def compare(
    recorded: Sequence[Any],
    live: Sequence[Any],
    ignored: Callable[[str], bool] = lambda path: False,
) -> list[Finding]:
    """How `live` JSON bodies differ in shape from `recorded` ones (of one route and status)."""
    r_spots, l_spots = spots(recorded), spots(live)
    closed = enums(recorded)
    done: list[str] = []  # paths reported whole: nothing under them is reported again
    findings: list[Finding] = []
    for path in sorted(r_spots.keys() | l_spots.keys()):
        if _under(path, done) or ignored(path):
            continue
        r, lv = r_spots.get(path), l_spots.get(path)
        if r is None or lv is None:
            parent, member = _parent(path)
            rp, lp = r_spots.get(parent), l_spots.get(parent)
            # a member is added or gone only where both sides had objects to hold it
            if not member or rp is None or lp is None or not rp.objects or not lp.objects:
                continue
            if lv is None and r is not None:
                findings.append(
                    Finding(Kind.FIELD_REMOVED, path, f"{path} is gone", r.example(), None)
                )
            elif lv is not None:
                findings.append(
                    Finding(Kind.FIELD_ADDED, path, f"{path} is new", None, lv.example())
                )
            done.append(path)
            continue
        findings.extend(_same_path(path, r, lv, closed.get(path), done))
    return findings


def _same_path(
    path: str, r: Spot, lv: Spot, closed: list[str] | None, done: list[str]
) -> Iterator[Finding]:
    r_types, l_types = set(_named(r.types)), set(_named(lv.types))
    new = {t for t in l_types - r_types if not (t == "integer" and "number" in r_types)}
    if r_types and l_types and new:
        done.append(path)
        was, now = "|".join(sorted(r_types)), "|".join(sorted(l_types))
        if r_types == {"array"} and "object" in l_types:
            yield Finding(
                Kind.ARRAY_BECAME_OBJECT,
                path,
                f"{path} was an array and is now an object",
                r.example(),
                lv.example(),
            )
        else:
            yield Finding(
                Kind.FIELD_RETYPED,
                path,
                f"{path} was {was}, is now {now}",
                r.example(),
                lv.example(),
            )
        return
    if "null" in lv.types and "null" not in r.types and r_types:
        yield Finding(
            Kind.MADE_NULLABLE, path, f"{path} can now be null", r.example(), example(None)
        )
    elif "null" in r.types and "null" not in lv.types and l_types:
        yield Finding(
            Kind.NO_LONGER_NULLABLE,
            path,
            f"{path} is no longer null",
            example(None),
            lv.example(),
        )
    if closed:
        for value in sorted(lv.strings - set(closed)):
            yield Finding(
                Kind.ENUM_VALUE_NEW,
                path,
                f"{path} has a new value {example(value)} (recorded: "
                f"{', '.join(example(v) for v in closed)})",
                example(closed[0]),
                example(value),
            )
        if lv.string_count >= ENUM_MIN_SAMPLES and not lv.overflow:
            for value in sorted(set(closed) - lv.strings):
                yield Finding(
                    Kind.ENUM_VALUE_GONE,
                    path,
                    f"{path} no longer has the value {example(value)}",
                    example(value),
                    None,
                )
