"""Matching rules: thresholds, weights, ignored and required fields, matchers and priorities.

Read from the `[match]` table and `[[route]]` array of virt.toml, and replaceable over the admin
API (PUT /__virt/rules). docs/matching.md documents every key. A field is named as in the
journal: `header:NAME`, `query:NAME`, `form:NAME`, or `json:JSONPATH` for JSON bodies.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2
from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from virt.errors import ConfigError
from virt.model import Request
from virt.normalize.canonical import NOT_JSON
from virt.normalize.fields import json_path

GROUPS = ("path", "query", "headers", "body")
DEFAULT_WEIGHTS: Mapping[str, float] = {"path": 3.0, "query": 2.0, "headers": 1.0, "body": 4.0}
DEFAULT_THRESHOLD = 0.85
BODY_MODES = ("fuzzy", "exact", "partial", "ignore")
_FIELD = re.compile(r"(header|query|form|json):(.+)", re.S)
_SAME = object()
"""A matcher without `equals` or `regex`: the request must carry the recording's value."""
MATCHED_CHARS = 1024 * 1024
"""Longest value a regex matcher is applied to; a longer value does not match (no candidate)."""
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported as a RulesError, not on stderr
_RE2_REFUSED = (
    "rule regexes run in linear time (RE2), which has no backreferences (\\1) or lookarounds "
    "((?=...), (?!...), (?<=...)): rewrite it without them, or use equals"
)


class RulesError(ConfigError):
    """Rules that cannot be used; the message names the key, as `route[2].threshold`."""


@dataclass(frozen=True, slots=True)
class FieldRef:
    """A field named in a rule: `kind` is header, query, form or json."""

    kind: str
    name: str
    jsonpath: JSONPath | None = None

    @property
    def text(self) -> str:
        return f"{self.kind}:{self.name}"

    def names(self, fields: Mapping[str, str], data: Any) -> list[str]:
        """The flat field names this reference selects in one request's fields (JSON paths
        select prefixes: `json:$.user` covers every leaf under it)."""
        if self.kind == "header":
            key = f"header:{self.name.lower()}"
            return [key] if key in fields else []
        if self.kind in ("query", "form"):
            key = f"{self.kind}:{self.name}"
            return [key] if key in fields else []
        if self.jsonpath is None or data is NOT_JSON:
            return []
        prefixes = {f"body:{_flat(m.full_path)}" for m in self.jsonpath.find(data)}
        return [k for k in fields if k in prefixes or any(_under(k, p) for p in prefixes)]


@dataclass(frozen=True, slots=True)
class Matcher:
    """A condition the request must meet for a route's recordings to answer it."""

    ref: FieldRef
    regex: Any = None
    """A compiled RE2 pattern: its search takes time linear in the value, whatever the pattern."""
    equals: Any = _SAME

    def holds(self, sent: str | None, recorded: str | None) -> bool:
        """Whether the request's value (`sent`, as field text) meets the condition. A value
        longer than MATCHED_CHARS meets no regex: cutting it would change what `$` means."""
        if sent is None:
            return False
        if self.regex is not None:
            value = _plain(sent)
            if len(value) > MATCHED_CHARS:
                return False
            return self.regex.search(_utf8(value)) is not None
        if self.equals is _SAME:
            return sent == recorded
        return _plain(sent) == _plain_value(self.equals)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.ref.text}
        if self.regex is not None:
            out["regex"] = self.regex.pattern
        elif self.equals is not _SAME:
            out["equals"] = self.equals
        return out


@dataclass(frozen=True, slots=True)
class Policy:
    """The settings that apply to one request: defaults, refined by its route's rule."""

    threshold: float = DEFAULT_THRESHOLD
    weights: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    body: str = "fuzzy"
    ignore: tuple[FieldRef, ...] = ()
    require: tuple[FieldRef, ...] = ()
    matchers: tuple[Matcher, ...] = ()
    rule: str | None = None
    """The name of the route rule that applied, for the journal."""

    @property
    def strict(self) -> bool:
        """Whether exact and canonical hits must be checked against this policy too."""
        return bool(self.require or self.matchers) or self.body != "fuzzy"


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
    body: str | None = None
    ignore: tuple[FieldRef, ...] = ()
    require: tuple[FieldRef, ...] = ()
    matchers: tuple[Matcher, ...] = ()

    def covers(self, request: Request) -> bool:
        if self.method is not None and self.method != request.method.upper():
            return False
        if self.host is not None and self.host != request.host.lower():
            return False
        if self.path is None:
            return True
        path = request.path
        return (
            len(path) <= MATCHED_CHARS
            and _path_pattern(self.path).fullmatch(_utf8(path)) is not None
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
        if self.matchers:
            out["match"] = [m.as_dict() for m in self.matchers]
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
            body=route.body or "fuzzy",
            ignore=self.ignore + route.ignore,
            require=route.require,
            matchers=route.matchers,
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
        _path_pattern(path)
    priority = data.get("priority", 0)
    if not isinstance(priority, int) or isinstance(priority, bool):
        raise RulesError(f"{where}.priority: expected a whole number, got {priority!r}")
    body = data.get("body")
    if body is not None and body not in BODY_MODES:
        raise RulesError(f"{where}.body: expected one of {', '.join(BODY_MODES)}, got {body!r}")
    matchers = data.get("match", [])
    _expect(matchers, list, f"{where}.match", "an array of tables")
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
        matchers=tuple(_matcher(m, f"{where}.match[{i}]") for i, m in enumerate(matchers)),
    )


def _matcher(data: Any, where: str) -> Matcher:
    _expect(data, dict, where, "a table")
    _only(data, {"field", "regex", "equals"}, where)
    if "field" not in data:
        raise RulesError(f"{where}: needs field, such as 'header:X-Tenant' or 'json:$.user.id'")
    ref = _ref(data["field"], f"{where}.field")
    if "regex" in data and "equals" in data:
        raise RulesError(f"{where}: give regex or equals, not both")
    regex = None
    if "regex" in data:
        _expect(data["regex"], str, f"{where}.regex", "a string")
        regex = _compile(data["regex"], f"{where}.regex")
    equals = data.get("equals", _SAME)
    if equals is not _SAME and (
        not isinstance(equals, str | int | float)
        or (isinstance(equals, float) and not math.isfinite(equals))
    ):
        raise RulesError(f"{where}.equals: expected a string, number or boolean, got {equals!r}")
    return Matcher(ref, regex, equals)


def _compile(pattern: str, where: str) -> Any:
    """`pattern` compiled with RE2, or a RulesError naming `where` and saying why not."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as e:
        why = e.args[0].decode("utf-8", "replace") if e.args else str(e)
        raise RulesError(f"{where}: {pattern!r} cannot be used: {why}; {_RE2_REFUSED}") from e


def _refs(value: Any, where: str) -> tuple[FieldRef, ...]:
    _expect(value, list, where, "an array of field names")
    return tuple(_ref(v, f"{where}[{i}]") for i, v in enumerate(value))


def _ref(value: Any, where: str) -> FieldRef:
    _expect(value, str, where, "a field name")
    m = _FIELD.fullmatch(value)
    if m is None:
        raise RulesError(
            f"{where}: {value!r} is not a field; write header:NAME, query:NAME, form:NAME "
            "or json:JSONPATH (json:$.user.id)"
        )
    kind, name = m.group(1), m.group(2)
    if kind != "json":
        return FieldRef(kind, name.lower() if kind == "header" else name)
    try:
        return FieldRef(kind, name, _compile_jsonpath(name))
    except Exception as e:  # jsonpath-ng raises its own errors and a few of Python's
        raise RulesError(f"{where}: bad JSONPath {name!r}: {e}") from e


@lru_cache(maxsize=512)
def _compile_jsonpath(text: str) -> JSONPath:
    return parse_jsonpath(text)


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


@lru_cache(maxsize=512)
def _path_pattern(template: str) -> Any:
    """A route path as a regex: {name} and * match one segment, ** matches the rest.
    RE2, as for matchers: `/{a}{b}{c}` or `/**/**/x` would backtrack polynomially in `re`."""
    out = []
    for part in re.split(r"(\{[^/{}]*\}|\*\*|\*)", template):
        if part == "**":
            out.append(".*")
        elif part == "*" or (part.startswith("{") and part.endswith("}")):
            out.append("[^/]+")
        else:
            out.append(re2.escape(part))
    return _compile("".join(out), f"path {template!r}")


def _flat(path: Any) -> str:
    """A jsonpath-ng match path in the flat notation of virt.normalize.fields: $.a.b[0]."""
    parts: list[str | int] = []
    stack = [path]
    while stack:
        node = stack.pop()
        kind = type(node).__name__
        if kind == "Child":
            stack.extend((node.right, node.left))
        elif kind == "Fields" and len(node.fields) == 1:
            parts.append(node.fields[0])
        elif kind == "Index" and len(node.indices) == 1:
            parts.append(int(node.indices[0]))
    flat = "$"
    for part in parts:
        flat = json_path(flat, part)
    return flat


def _under(name: str, prefix: str) -> bool:
    return len(name) > len(prefix) and name.startswith(prefix) and name[len(prefix)] in ".["


def _utf8(text: str) -> str:
    """`text` as RE2 can take it: bytes that were not UTF-8 (kept as surrogates) become U+FFFD."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return text


def _plain(text: str) -> str:
    """A field's text without JSON string quotes, for regexes and `equals`."""
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1]
    return text


def _plain_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
