"""Filtered listings of interactions for the admin API: SQL built from a Filter, paged by id."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Filter:
    """What to list. Every field narrows the result; None means no condition."""

    host: str | None = None
    method: str | None = None
    path: str | None = None
    """A glob: * matches any run of characters, ? one character."""
    status: int | None = None
    session: str | None = None
    tag: str | None = None
    since: str | None = None
    """recorded_at >= since (ISO 8601)."""
    until: str | None = None
    """recorded_at < until (ISO 8601)."""
    q: str | None = None
    """Full-text search over host, path, query and both bodies; words are matched as phrases."""
    source_format: str | None = None


def fts_query(text: str) -> str:
    """User text as an FTS5 query that cannot be a syntax error: each word a quoted phrase."""
    # SQLite reads the query as a C string: a NUL would end it inside a quoted phrase
    words = text.replace("\0", " ").split()
    return " ".join('"' + word.replace('"', '""') + '"' for word in words)


def where(f: Filter, after: int | None, table: str = "") -> tuple[str, list[Any]]:
    """The WHERE clause (with its parameters) selecting `f`, ids greater than `after`; its
    columns are those of `table` (an alias) when given."""
    t = f"{table}." if table else ""
    clauses: list[str] = []
    params: list[Any] = []
    simple = {
        "host": f.host.lower() if f.host else None,
        "method": f.method.upper() if f.method else None,
        "status": f.status,
        "session": f.session,
        "source_format": f.source_format,
    }
    for column, value in simple.items():
        if value is not None:
            clauses.append(f"{t}{column} = ?")
            params.append(value)
    if f.path is not None:
        clauses.append(f"{t}path GLOB ?")
        params.append(f.path)
    if f.since is not None:
        clauses.append(f"{t}recorded_at >= ?")
        params.append(f.since)
    if f.until is not None:
        clauses.append(f"{t}recorded_at < ?")
        params.append(f.until)
    if f.tag is not None:
        clauses.append(f"{t}id IN (SELECT interaction_id FROM tags WHERE tag = ?)")
        params.append(f.tag)
    if f.q is not None and (phrases := fts_query(f.q)):
        clauses.append(
            f"{t}id IN (SELECT rowid FROM interactions_fts WHERE interactions_fts MATCH ?)"
        )
        params.append(phrases)
    if after is not None:
        clauses.append(f"{t}id > ?")
        params.append(after)
    return (" WHERE " + " AND ".join(clauses)) if clauses else "", params
