"""Matching rules: thresholds, weights, ignored and required fields, conditions and priorities.

Read from the `[match]` table and `[[route]]` array of virt.toml, and replaceable over the admin
API (PUT /__virt/rules). docs/matching.md documents every key. A field is named as in the
journal: `header:NAME`, `query:NAME`, `form:NAME`, or `json:JSONPATH` for JSON bodies.
"""

from __future__ import annotations

import enum
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from virt.match.conditions import (
    MATCHED_CHARS,
    SAME,
    Condition,
    FieldRef,
    RulesError,
    compile_re2,
    parse_ref,
    path_pattern,
    utf8,
)
from virt.model import Request

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "GROUPS",
    "BodyMode",
    "Condition",
    "FieldRef",
    "Policy",
    "Route",
    "Rules",
    "RulesError",
]

GROUPS = ("path", "query", "headers", "body")
DEFAULT_WEIGHTS: Mapping[str, float] = {"path": 3.0, "query": 2.0, "headers": 1.0, "body": 4.0}
DEFAULT_THRESHOLD = 0.85


class BodyMode(enum.StrEnum):
    """How a route compares bodies (its `body` key)."""

    FUZZY = "fuzzy"
    """Scored field by field, as any other group."""
    EXACT = "exact"
    """The sent body must be the recorded one, field for field."""
    PARTIAL = "partial"
    """The sent body must carry the recorded fields; it may add others."""
    IGNORE = "ignore"
    """Bodies take no part."""

    @classmethod
    def parse(cls, value: Any, where: str) -> BodyMode:
        """`value` as a body mode; a RulesError listing the valid ones otherwise."""
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise RulesError(f"{where}: expected one of {valid}, got {value!r}") from None


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings that apply to one request: defaults, refined by its route's rule."""

    threshold: float = DEFAULT_THRESHOLD
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    body: BodyMode = BodyMode.FUZZY
    ignore: tuple[FieldRef, ...] = ()
    require: tuple[FieldRef, ...] = ()
    conditions: tuple[Condition, ...] = ()
    rule: str | None = None
    """The name of the route rule that applied, for the journal."""

    @property
    def strict(self) -> bool:
        """Whether exact and canonical hits must be checked against this policy too."""
        return bool(self.require or self.conditions) or self.body is not BodyMode.FUZZY


@dataclass(frozen=True, slots=True)
class Route:
    """A `[[route]]` entry: which requests it covers, and what it changes for them."""

    name: str
    index: int
    method: str | None = None
    host: str | None = None
    path: str | None = None
    priority: int = 0
    threshold: float | None = None
    weights: Mapping[str, float] = field(default_factory=dict)
    body: BodyMode | None = None
    ignore: tuple[FieldRef, ...] = ()
    require: tuple[FieldRef, ...] = ()
    conditions: tuple[Condition, ...] = ()

    def covers(self, request: Request) -> bool:
        if self.method is not None and self.method != request.method.upper():
            return False
        if self.host is not None and self.host != request.host.lower():
            return False
        if self.path is None:
            return True
        path = request.path
        return (
            len(path) <= MATCHED_CHARS and path_pattern(self.path).fullmatch(utf8(path)) is not None
        )

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name}
        for key in ("method", "host", "path", "threshold", "body"):
            if (value := getattr(self, key)) is not None:
                out[key] = value
        if self.priority:
            out["priority"] = self.priority
        if self.weights:
            out["weights"] = dict(self.weights)
        if self.ignore:
            out["ignore"] = [r.text for r in self.ignore]
        if self.require:
            out["require"] = [r.text for r in self.require]
        if self.conditions:
            out["match"] = [c.as_dict() for c in self.conditions]
        return out


@dataclass(frozen=True, slots=True)
class Rules:
    """Every rule in force. The highest-priority route that covers a request applies (the
    first in the file among equals), on top of the `[match]` defaults."""

    threshold: float = DEFAULT_THRESHOLD
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    ignore: tuple[FieldRef, ...] = ()
    routes: tuple[Route, ...] = ()

    def policy(self, request: Request) -> Policy:
        """The effective settings for `request`."""
        route = None
        for candidate in self.routes:
            if candidate.covers(request) and (route is None or candidate.priority > route.priority):
                route = candidate
        if route is None:
            return Policy(self.threshold, self.weights, ignore=self.ignore)
        return Policy(
            threshold=self.threshold if route.threshold is None else route.threshold,
            weights={**self.weights, **route.weights},
            body=route.body or BodyMode.FUZZY,
            ignore=self.ignore + route.ignore,
            require=route.require,
            conditions=route.conditions,
            rule=route.name,
        )

    def as_dict(self) -> dict[str, Any]:
        """The rules in the shape virt.toml and the admin API use."""
        match: dict[str, Any] = {"threshold": self.threshold, "weights": dict(self.weights)}
        if self.ignore:
            match["ignore"] = [r.text for r in self.ignore]
        return {"match": match, "route": [r.as_dict() for r in self.routes]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], source: str = "rules") -> Rules:
        """Rules from parsed virt.toml (or admin API JSON); RulesError names what is wrong."""
        _only(data, {"match", "route"}, source)
        match = data.get("match", {})
        _expect(match, dict, f"{source}: match", "a table")
        _only(match, {"threshold", "weights", "ignore"}, f"{source}: match")
        threshold = _threshold(match.get("threshold", DEFAULT_THRESHOLD), f"{source}: match")
        weights = {**DEFAULT_WEIGHTS, **_weights(match.get("weights", {}), f"{source}: match")}
        ignore = _refs(match.get("ignore", []), f"{source}: match.ignore")
        raw_routes = data.get("route", [])
        _expect(raw_routes, list, f"{source}: route", "an array of tables ([[route]])")
        routes = tuple(_route(r, i, f"{source}: route[{i}]") for i, r in enumerate(raw_routes))
        return cls(threshold, weights, ignore, routes)


def _route(data: Any, index: int, where: str) -> Route:
    _expect(data, dict, where, "a table")
    _only(
        data,
        {
            "name", "method", "host", "path", "priority", "threshold",
            "weights", "body", "ignore", "require", "match",
        },
        where,
    )  # fmt: skip
    for key in ("name", "method", "host", "path"):
        if key in data:
            _expect(data[key], str, f"{where}.{key}", "a string")
    path = data.get("path")
    if path is not None:
        if not path.startswith("/"):
            raise RulesError(f"{where}.path: {path!r} must start with /")
        path_pattern(path)
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RulesError(f"{where}.priority: expected a whole number, got {priority!r}")
    body: BodyMode | None = None
    if (mode := data.get("body")) is not None:  # null over the admin API: as when absent
        body = BodyMode.parse(mode, f"{where}.body")
    conditions = data.get("match", [])
    _expect(conditions, list, f"{where}.match", "an array of tables")
    return Route(
        name=data.get("name") or f"route[{index}]",
        index=index,
        method=data["method"].upper() if "method" in data else None,
        host=data["host"].lower() if "host" in data else None,
        path=path,
        priority=priority,
        threshold=_threshold(data["threshold"], where) if "threshold" in data else None,
        weights=_weights(data.get("weights", {}), where),
        body=body,
        ignore=_refs(data.get("ignore", []), f"{where}.ignore"),
        require=_refs(data.get("require", []), f"{where}.require"),
        conditions=tuple(_condition(c, f"{where}.match[{i}]") for i, c in enumerate(conditions)),
    )


def _condition(data: Any, where: str) -> Condition:
    _expect(data, dict, where, "a table")
    _only(data, {"field", "regex", "equals"}, where)
    if "field" not in data:
        raise RulesError(f"{where}: needs field, such as 'header:X-Tenant' or 'json:$.user.id'")
    ref = parse_ref(data["field"], f"{where}.field")
    if "regex" in data and "equals" in data:
        raise RulesError(f"{where}: give regex or equals, not both")
    regex = None
    if "regex" in data:
        _expect(data["regex"], str, f"{where}.regex", "a string")
        regex = compile_re2(data["regex"], f"{where}.regex")
    equals = data.get("equals", SAME)
    if equals is not SAME and (
        not isinstance(equals, str | int | float)
        or (isinstance(equals, float) and not math.isfinite(equals))
    ):
        raise RulesError(f"{where}.equals: expected a string, number or boolean, got {equals!r}")
    return Condition(ref, regex, equals)


def _refs(value: Any, where: str) -> tuple[FieldRef, ...]:
    _expect(value, list, where, "an array of field names")
    return tuple(parse_ref(v, f"{where}[{i}]") for i, v in enumerate(value))


def _threshold(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
        raise RulesError(f"{where}.threshold: expected a number from 0 to 1, got {value!r}")
    return float(value)


def _weights(value: Any, where: str) -> dict[str, float]:
    _expect(value, dict, f"{where}.weights", "a table such as { body = 4 }")
    out = {}
    for key, weight in value.items():
        if key not in GROUPS:
            raise RulesError(f"{where}.weights: unknown group {key!r}; use {', '.join(GROUPS)}")
        if (
            isinstance(weight, bool)
            or not isinstance(weight, int | float)
            or not 0 <= weight < math.inf
        ):
            raise RulesError(f"{where}.weights.{key}: expected a number >= 0, got {weight!r}")
        out[key] = float(weight)
    return out


def _expect(value: Any, kind: type, where: str, what: str) -> None:
    if not isinstance(value, kind):
        raise RulesError(f"{where}: expected {what}, got {type(value).__name__}")


def _only(data: Mapping[str, Any], allowed: set[str], where: str) -> None:
    unknown = sorted(set(data) - allowed)
    if unknown:
        raise RulesError(
            f"{where}: unknown key {unknown[0]!r}; known: {', '.join(sorted(allowed))}"
        )
