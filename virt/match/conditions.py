"""Conditions: the request fields a rule names, and the tests a route puts on them.

A field is named as in the journal: `header:NAME`, `query:NAME`, `form:NAME`, or
`json:JSONPATH` for JSON bodies. Regexes (conditions and route path templates) run on RE2, in
time linear in the value whatever the pattern.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import re2
from jsonpath_ng import JSONPath
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from virt.errors import ConfigError
from virt.normalize.canonical import NOT_JSON
from virt.normalize.fields import json_path

_FIELD = re.compile(r"(header|query|form|json):(.+)", re.S)
SAME = object()
"""A condition without `equals` or `regex`: the request must carry the recording's value."""
MATCHED_CHARS = 1024 * 1024
"""Longest value a regex condition is applied to; a longer value does not match (no candidate)."""
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
class Condition:
    """A route's hard condition (a `[[route.match]]` table): the request must meet it for
    the route's recordings to answer it. Not scored: a recording that fails it is no candidate."""

    ref: FieldRef
    regex: Any = None
    """A compiled RE2 pattern: its search takes time linear in the value, whatever the pattern."""
    equals: Any = SAME

    def holds(self, sent: str | None, recorded: str | None) -> bool:
        """Whether the request's value (`sent`, as field text) meets the condition. A value
        longer than MATCHED_CHARS meets no regex: cutting it would change what `$` means."""
        if sent is None:
            return False
        if self.regex is not None:
            value = _plain(sent)
            if len(value) > MATCHED_CHARS:
                return False
            return self.regex.search(utf8(value)) is not None
        if self.equals is SAME:
            return sent == recorded
        return _plain(sent) == _plain_value(self.equals)

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"field": self.ref.text}
        if self.regex is not None:
            out["regex"] = self.regex.pattern
        elif self.equals is not SAME:
            out["equals"] = self.equals
        return out


def compile_re2(pattern: str, where: str) -> Any:
    """`pattern` compiled with RE2, or a RulesError naming `where` and saying why not."""
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as e:
        why = e.args[0].decode("utf-8", "replace") if e.args else str(e)
        raise RulesError(f"{where}: {pattern!r} cannot be used: {why}; {_RE2_REFUSED}") from e


def parse_ref(value: Any, where: str) -> FieldRef:
    if not isinstance(value, str):
        raise RulesError(f"{where}: expected a field name, got {type(value).__name__}")
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


@lru_cache(maxsize=512)
def path_pattern(template: str) -> Any:
    """A route path as a regex: {name} and * match one segment, ** matches the rest.
    RE2, as for conditions: `/{a}{b}{c}` or `/**/**/x` would backtrack polynomially in `re`."""
    out = []
    for part in re.split(r"(\{[^/{}]*\}|\*\*|\*)", template):
        if part == "**":
            out.append(".*")
        elif part == "*" or (part.startswith("{") and part.endswith("}")):
            out.append("[^/]+")
        else:
            out.append(re2.escape(part))
    return compile_re2("".join(out), f"path {template!r}")


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


def utf8(text: str) -> str:
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
