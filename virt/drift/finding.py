"""A finding: one way a route's live answers differ from its recorded ones, with its severity."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

import orjson

EXAMPLE_CHARS = 200
"""Examples longer than this (as JSON text) are cut, with an ellipsis."""


class Severity(enum.StrEnum):
    """How bad a change is for a client written against the recordings."""

    COMPATIBLE = "compatible"
    """Nothing a client reads is gone or changed: an added field, a new enum value."""
    BREAKING = "breaking"
    """A client may break: a field it reads is gone or retyped, a status changed."""


class Kind(enum.StrEnum):
    """What changed; each kind has one severity (SEVERITY)."""

    STATUS_CHANGED = "status-changed"
    FIELD_ADDED = "field-added"
    FIELD_REMOVED = "field-removed"
    FIELD_RETYPED = "field-retyped"
    ARRAY_BECAME_OBJECT = "array-became-object"
    MADE_NULLABLE = "made-nullable"
    NO_LONGER_NULLABLE = "no-longer-nullable"
    ENUM_VALUE_NEW = "enum-value-new"
    ENUM_VALUE_GONE = "enum-value-gone"
    BODY_NOT_JSON = "body-not-json"
    CONTENT_TYPE_CHANGED = "content-type-changed"
    HEADER_ADDED = "header-added"
    HEADER_REMOVED = "header-removed"
    HEADER_CHANGED = "header-changed"
    UNDOCUMENTED_ROUTE = "undocumented-route"
    UNDOCUMENTED_STATUS = "undocumented-status"
    CONTRACT_VIOLATION = "contract-violation"


SEVERITY: dict[Kind, Severity] = {
    Kind.STATUS_CHANGED: Severity.BREAKING,
    Kind.FIELD_ADDED: Severity.COMPATIBLE,
    Kind.FIELD_REMOVED: Severity.BREAKING,
    Kind.FIELD_RETYPED: Severity.BREAKING,
    Kind.ARRAY_BECAME_OBJECT: Severity.BREAKING,
    # a client that never met null reads it as a value and fails
    Kind.MADE_NULLABLE: Severity.BREAKING,
    Kind.NO_LONGER_NULLABLE: Severity.COMPATIBLE,
    Kind.ENUM_VALUE_NEW: Severity.COMPATIBLE,
    Kind.ENUM_VALUE_GONE: Severity.COMPATIBLE,
    Kind.BODY_NOT_JSON: Severity.BREAKING,
    Kind.CONTENT_TYPE_CHANGED: Severity.BREAKING,
    Kind.HEADER_ADDED: Severity.COMPATIBLE,
    Kind.HEADER_REMOVED: Severity.COMPATIBLE,
    Kind.HEADER_CHANGED: Severity.COMPATIBLE,
    # against an OpenAPI document: a recording the document does not allow
    Kind.UNDOCUMENTED_ROUTE: Severity.BREAKING,
    Kind.UNDOCUMENTED_STATUS: Severity.BREAKING,
    Kind.CONTRACT_VIOLATION: Severity.BREAKING,
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One change on one route: `where` is a JSON path ($.items[].status), a header name
    (header:Sunset) or `status`; the examples are short JSON texts, None when absent."""

    kind: Kind
    where: str
    message: str
    recorded: str | None = None
    live: str | None = None

    @property
    def severity(self) -> Severity:
        return SEVERITY[self.kind]

    def as_dict(self) -> dict[str, Any]:
        return {
            "severity": str(self.severity),
            "kind": str(self.kind),
            "where": self.where,
            "message": self.message,
            "recorded": self.recorded,
            "live": self.live,
        }


def example(value: Any) -> str:
    """`value` as short JSON text, for a report."""
    text = orjson.dumps(value, default=str).decode()
    return text if len(text) <= EXAMPLE_CHARS else text[: EXAMPLE_CHARS - 1] + "…"
