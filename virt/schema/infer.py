"""Infer: the JSON Schema (2020-12) that describes every one of a route's recorded JSON values.

genson merges the samples (types, properties, required by presence, array items, integer versus
number); two strategies of ours add what it lacks: the ranges seen, formats every string
matched, and small closed sets of strings as enums.
A pass over genson's output then folds "this or null" into a type list and forgets enums on
fields that name an identity.

The ranges seen are an annotation, `"x-seen": {"minimum": 1, "maximum": 4}` (or minLength and
maxLength), that validators ignore: four recordings of ids 1 to 4 say nothing about id 42,
which the API answers as well, so a schema that refused it would call every fallback answer
with a new id invalid. Generation keeps inside them, so made-up values look like recorded ones.
Formats and closed enums stay real keywords; `structural` drops them too, for request bodies.

The enum rule, chosen so that ids and names never become a closed set: a position becomes an
enum when at least 4 strings were seen there, at most 5 distinct, every distinct one at least
twice, none longer than 32 characters, none with a format or a run of 3 digits, and the field's
name is not an identity (id, *_id, key, token, name, email, url, login, ...).
"""

from __future__ import annotations

import datetime
import ipaddress
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from genson import SchemaBuilder  # type: ignore[import-untyped]
from genson.schema.strategies import Number, TypedSchemaStrategy  # type: ignore[import-untyped]

from virt.errors import SchemaError
from virt.memo import Memo
from virt.schema.walk import MAX_DEPTH, check_depth

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SEEN = "x-seen"
"""The annotation holding the ranges seen: minimum/maximum, minLength/maxLength."""
MAX_SAMPLES = 1000
"""Samples considered, the first ones; the schema says how many were left out ("x-virt-skipped")."""
MAX_NODES = 500_000
"""JSON values (of all samples together) considered; samples past the budget are left out."""
MAX_PROPERTIES = 256
"""Distinct keys an object may have before it is taken for a map keyed by data."""

ENUM_MIN_SAMPLES = 4
ENUM_MAX_VALUES = 5
ENUM_MIN_REPEATS = 2
ENUM_MAX_LENGTH = 32
_DIGIT_RUN = re.compile(r"\d{3}", re.ASCII)
_IDENTITY = re.compile(
    r"(?:^|[_\-.])(?:id|ids|uuid|guid|key|keys|token|secret|password|name|email|url|uri|href"
    r"|login|username|sha|hash|slug|etag|cursor|number|phone)$"
    r"|[a-z0-9](?:Id|Ids|Uuid|Key|Token|Name|Email|Url|Uri|Href|Login|Sha|Hash|Cursor)$",
    re.IGNORECASE,
)
_IDENTITY_EXACT = {"id", "uuid", "guid", "key", "token", "name", "email", "url", "login", "sha"}

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_DATE_TIME = re.compile(
    r"(\d{4}-\d{2}-\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(\.\d+)?([Zz]|[+-]\d{2}:\d{2})", re.ASCII
)
_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
# RFC 3986 characters only: GitHub's templated links ("…/issues{/number}") are not URIs
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*://[A-Za-z0-9\-._~:/?#\[\]@!$&'()*+,;=%]+")
_IPV4 = re.compile(r"\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}", re.ASCII)


def _is_date(s: str) -> bool:
    if not _DATE.fullmatch(s):
        return False
    try:
        datetime.date.fromisoformat(s)
    except ValueError:
        return False
    return True


def _is_date_time(s: str) -> bool:
    m = _DATE_TIME.fullmatch(s)
    if m is None or not _is_date(m[1]):
        return False
    # seconds up to 60: RFC 3339 allows a leap second
    return int(m[2]) < 24 and int(m[3]) < 60 and int(m[4]) <= 60


def _is_ipv4(s: str) -> bool:
    if not _IPV4.fullmatch(s):
        return False
    try:
        ipaddress.IPv4Address(s)
    except ValueError:
        return False
    return True


FORMATS: dict[str, Callable[[str], bool]] = {
    "uuid": lambda s: _UUID.fullmatch(s) is not None,
    "date-time": _is_date_time,
    "date": _is_date,
    "email": lambda s: _EMAIL.fullmatch(s) is not None,
    "uri": lambda s: _URI.fullmatch(s) is not None,
    "ipv4": _is_ipv4,
}
"""Formats inferred when every string at a position matches; each check is stricter than the
validator's own, so an inferred format never refuses the samples it came from."""


def formats_of(s: str) -> list[str]:
    """The formats `s` matches, in the order of FORMATS."""
    return [name for name, check in FORMATS.items() if check(s)]


class _String(TypedSchemaStrategy):  # type: ignore[misc]
    """Strings, with the lengths seen, the formats all of them matched and their counts."""

    JS_TYPE = "string"
    PYTHON_TYPE = str
    KEYWORDS = ("type", SEEN, "format", "enum")

    def __init__(self, node_class: Any) -> None:
        super().__init__(node_class)
        self._seen = 0
        self._min = math.inf
        self._max = 0
        self._formats: list[str] | None = None  # None until the first string
        self._counts: dict[str, int] | None = {}  # None once the set is too large to close

    def add_object(self, obj: str) -> None:
        self._seen += 1
        n = len(obj)
        self._min = min(self._min, n)
        self._max = max(self._max, n)
        if self._formats is None:
            self._formats = formats_of(obj)
        elif self._formats:
            self._formats = [f for f in self._formats if FORMATS[f](obj)]
        counts = self._counts
        if counts is not None:
            counts[obj] = counts.get(obj, 0) + 1
            if len(counts) > ENUM_MAX_VALUES or n > ENUM_MAX_LENGTH:
                self._counts = None

    def add_schema(self, schema: dict[str, Any]) -> None:
        super().add_schema(schema)
        # a merged schema brings ranges and a format but not the counts behind an enum
        self._seen += 1
        seen = schema.get(SEEN, {})
        self._min = min(self._min, seen.get("minLength", 0))
        self._max = max(self._max, seen.get("maxLength", 0))
        fmt = schema.get("format")
        if self._formats is None:
            self._formats = [fmt] if fmt in FORMATS else []
        elif fmt not in self._formats:
            self._formats = []
        self._counts = None

    def _closed(self) -> list[str] | None:
        counts = self._counts
        if not counts or self._seen < ENUM_MIN_SAMPLES or self._formats:
            return None
        if min(counts.values()) < ENUM_MIN_REPEATS:
            return None
        if any(_DIGIT_RUN.search(v) for v in counts):
            return None
        return sorted(counts)

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = super().to_schema()
        if self._seen:
            low = 0 if self._min is math.inf else int(self._min)
            schema[SEEN] = {"minLength": low, "maxLength": self._max}
        if self._formats:
            schema["format"] = self._formats[0]
        closed = self._closed()
        if closed is not None:
            schema["enum"] = closed
        return schema


class _Number(Number):  # type: ignore[misc]
    """Integers and numbers (1 and 1.5 make a number), with the smallest and largest seen."""

    KEYWORDS = ("type", SEEN)

    def __init__(self, node_class: Any) -> None:
        super().__init__(node_class)
        self._low: int | float | None = None
        self._high: int | float | None = None
        self._finite = True

    def _widen(self, low: int | float, high: int | float) -> None:
        self._low = low if self._low is None else min(self._low, low)
        self._high = high if self._high is None else max(self._high, high)

    def add_object(self, obj: int | float) -> None:
        super().add_object(obj)
        if isinstance(obj, float) and not math.isfinite(obj):
            self._finite = False  # NaN has no order: no range at all
        else:
            self._widen(obj, obj)

    def add_schema(self, schema: dict[str, Any]) -> None:
        super().add_schema(schema)
        seen = schema.get(SEEN, {})
        if "minimum" in seen and "maximum" in seen:
            self._widen(seen["minimum"], seen["maximum"])
        else:
            self._finite = False

    def to_schema(self) -> dict[str, Any]:
        schema: dict[str, Any] = super().to_schema()
        if self._finite and self._low is not None and self._high is not None:
            schema[SEEN] = {"minimum": self._low, "maximum": self._high}
        return schema


class _Builder(SchemaBuilder):  # type: ignore[misc]
    EXTRA_STRATEGIES = (_String, _Number)


def infer(samples: Sequence[Any]) -> dict[str, Any]:
    """JSON Schema (2020-12, "$schema" at the top) describing every one of `samples` (JSON values).

    At most MAX_SAMPLES samples and MAX_NODES values are considered, the first ones; when some
    are left out, "x-virt-skipped" says how many. A sample nested deeper than MAX_DEPTH, or not
    JSON, raises SchemaError naming which sample and where.
    """
    builder = _Builder(schema_uri=None)
    budget = MAX_NODES
    used = 0
    for i, sample in enumerate(samples[:MAX_SAMPLES]):
        # a sample too deep, too large or not JSON is an error even past the budget
        nodes = check_depth(sample, what=f"sample {i}", max_nodes=MAX_NODES)
        if used and nodes > budget:
            break  # past the budget: left out, and counted in x-virt-skipped
        budget -= nodes
        builder.add_object(sample)
        used += 1
    schema = _tidy(builder.to_schema(), "")
    out: dict[str, Any] = {"$schema": DIALECT, **schema}
    if used < len(samples):
        out["x-virt-skipped"] = len(samples) - used
    return out


def query_schema(samples: Sequence[Mapping[str, str | list[str]]]) -> dict[str, Any]:
    """Schema of parsed query strings (object of string values / arrays of strings), same rules.

    With no samples it is still an object: a query string always parses to one.
    """
    schema = infer([dict(s) for s in samples])
    schema.setdefault("type", "object")
    return schema


def _tidy(schema: dict[str, Any], name: str) -> dict[str, Any]:
    """genson's output made ours: null folded into type lists, maps collapsed, identity enums
    dropped. `name` is the property the schema describes ("" when it is no property)."""
    if "anyOf" in schema:
        branches = [_tidy(b, name) for b in schema["anyOf"]]
        schema = {**schema, "anyOf": branches}
        folded = _fold_null(branches)
        if folded is not None:
            schema = {k: v for k, v in schema.items() if k != "anyOf"} | folded
    if "enum" in schema and name and _is_identity(name):
        schema = {k: v for k, v in schema.items() if k != "enum"}
    props = schema.get("properties")
    if props is not None:
        if len(props) > MAX_PROPERTIES:
            schema = _as_map(schema)
        else:
            schema["properties"] = {k: _tidy(v, k) for k, v in props.items()}
    if isinstance(schema.get("additionalProperties"), dict):
        schema["additionalProperties"] = _tidy(schema["additionalProperties"], "")
    items = schema.get("items")
    if isinstance(items, dict):
        # the items of a list named "tags" are tags: their name carries over
        schema["items"] = _tidy(items, name)
    return schema


def _is_identity(name: str) -> bool:
    return name.lower() in _IDENTITY_EXACT or _IDENTITY.search(name) is not None


def _fold_null(branches: list[dict[str, Any]]) -> dict[str, Any] | None:
    """anyOf [{"type": "null"}, S] as S with "null" in its type (and None in its enum)."""
    nulls = [b for b in branches if b == {"type": "null"}]
    others = [b for b in branches if b != {"type": "null"}]
    if len(nulls) != 1 or len(others) != 1 or "anyOf" in others[0]:
        return None
    other = dict(others[0])
    kind = other.get("type")
    if kind is None:
        return None
    types = kind if isinstance(kind, list) else [kind]
    other["type"] = [*types, "null"]
    if "enum" in other:
        other["enum"] = [*other["enum"], None]
    return other


def _as_map(schema: dict[str, Any]) -> dict[str, Any]:
    """An object with more keys than MAX_PROPERTIES is a map keyed by data: one schema for all
    its values, under additionalProperties."""
    merged = _Builder(schema_uri=None)
    for sub in schema["properties"].values():
        merged.add_schema(sub)
    rest = {k: v for k, v in schema.items() if k not in ("properties", "required")}
    return {**rest, "additionalProperties": _tidy(merged.to_schema(), "")}


_SHAPE = frozenset(
    {
        "$schema",
        "$id",
        "$ref",
        "$defs",
        "definitions",
        "type",
        "properties",
        "required",
        "items",
        "prefixItems",
        "additionalProperties",
        "patternProperties",
        "anyOf",
        "oneOf",
        "allOf",
        "nullable",
        "title",
        "description",
    }
)
# an entry holds its schema, so no other dict can take that id while the entry lives
_structurals: Memo[int, tuple[dict[str, Any], dict[str, Any]]] = Memo(1024)
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions")
_SUBSCHEMA_LISTS = ("anyOf", "oneOf", "allOf", "prefixItems")


def structural(schema: dict[str, Any]) -> dict[str, Any]:
    """`schema` keeping only shape: type, properties, required, items, nullability; without the
    value constraints learned from samples (enum, minimum/maximum, min/maxLength, format,
    pattern), so a request with a new amount or a new id is not refused for a value nobody
    happened to record.

    oneOf becomes anyOf: branches that differed only in their values would all match. The
    result for one schema dict is made once and shared: do not change it.
    """
    same = _structurals.get(id(schema))
    if same is not None and same[0] is schema:
        return same[1]
    out: dict[str, Any] = _structural(schema, 0)
    _structurals.put(id(schema), (schema, out))
    return out


def _structural(schema: Any, depth: int) -> Any:
    if not isinstance(schema, dict):
        return schema  # true / false schemas
    if depth > 4 * MAX_DEPTH:
        raise SchemaError(f"a schema nests deeper than {4 * MAX_DEPTH} levels")
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SHAPE:
            continue
        if key in _SUBSCHEMA_MAPS and isinstance(value, dict):
            out[key] = {k: _structural(v, depth + 1) for k, v in value.items()}
        elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
            out["anyOf" if key == "oneOf" else key] = [_structural(v, depth + 1) for v in value]
        elif key in ("items", "additionalProperties"):
            out[key] = _structural(value, depth + 1)
        else:
            out[key] = value
    if "oneOf" in schema and "anyOf" in schema and isinstance(schema["anyOf"], list):
        # both were there: keep both sets of branches, each must still match one
        out["allOf"] = [
            *out.get("allOf", []),
            {"anyOf": [_structural(v, depth + 1) for v in schema["oneOf"]]},
        ]
        out["anyOf"] = [_structural(v, depth + 1) for v in schema["anyOf"]]
    return out
