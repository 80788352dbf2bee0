"""Redaction rules: the extra secrets a project names in virt.toml's [redact] table."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jsonpath_ng.ext.parser import parse as parse_jsonpath

from virt.errors import ConfigError

if TYPE_CHECKING:
    from virt.config import ConfigFile


@dataclass(frozen=True, slots=True)
class RedactRules:
    """Extra secrets named in virt.toml's [redact] table, on top of the built-in ones."""

    headers: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = ()
    json: tuple[Any, ...] = ()
    """JSONPath expressions (jsonpath-ng) whose values in JSON bodies are secrets."""

    @classmethod
    def from_config(cls, config: ConfigFile) -> RedactRules:
        """The rules of a virt.toml's [redact] table: the one way every command reads them."""
        return cls.from_dict(config.redact, config.source)

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "virt.toml") -> RedactRules:
        """[redact] headers, fields, json and patterns; ConfigError names a bad key."""
        where = f"{source}: redact"
        known = ("fields", "headers", "json", "patterns")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(known)}")
        lists = {}
        for key in known:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}.{key}: expected an array of strings")
            lists[key] = value
        patterns = []
        for i, text in enumerate(lists["patterns"]):
            try:
                patterns.append(re.compile(text))
            except re.error as e:
                raise ConfigError(f"{where}.patterns[{i}]: {e}") from e
        paths = []
        for i, text in enumerate(lists["json"]):
            try:
                paths.append(parse_jsonpath(text))
            except Exception as e:  # jsonpath-ng raises its own errors and a few of Python's
                raise ConfigError(f"{where}.json[{i}]: bad JSONPath {text!r}: {e}") from e
        return cls(
            frozenset(h.lower() for h in lists["headers"]),
            frozenset(f.lower() for f in lists["fields"]),
            tuple(patterns),
            tuple(paths),
        )
