"""The recordings schema: table definitions, SCHEMA_VERSION, and rows to and from model values.

Documented in docs/storage.md; a change here bumps SCHEMA_VERSION and adds a step to MIGRATIONS.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import astuple, dataclass, fields
from typing import Any

import orjson
import sqlite_utils

from virt.model import (
    Headers,
    Interaction,
    Keys,
    Pattern,
    PatternKind,
    Request,
    RequestPattern,
    Response,
    Timings,
)

SCHEMA_VERSION = 7
"""Stored in PRAGMA user_version. A database with a larger number was written by a newer virt."""

V1_COLUMNS: dict[str, type] = {
    "id": int,
    "session": str,
    "seq": int,
    "recorded_at": str,
    "scheme": str,
    "host": str,
    "port": int,
    "method": str,
    "path": str,
    "query": str,
    "request_http_version": str,
    "request_headers": str,
    "request_body": bytes,
    "request_encoding": str,
    "status": int,
    "reason": str,
    "response_http_version": str,
    "response_headers": str,
    "response_body": bytes,
    "response_encoding": str,
    "response_wire_body": bytes,
    "timings": str,
    "duration_ms": float,
    "source": str,
    "source_format": str,
    "exact_key": str,
}
INTERACTION_COLUMNS: dict[str, type] = {
    **V1_COLUMNS,
    "canonical_key": str,
    "route_key": str,
    "request_pattern": str,
}
"""Every column of interactions at SCHEMA_VERSION (canonical_key came with schema 3,
route_key with schema 4, request_pattern with schema 6)."""

NOT_NULL = {
    "session",
    "seq",
    "recorded_at",
    "scheme",
    "host",
    "port",
    "method",
    "path",
    "query",
    "request_headers",
    "request_body",
    "status",
    "response_headers",
    "response_body",
    "exact_key",
}
INSERT_COLUMNS = [c for c in INTERACTION_COLUMNS if c != "id"]
INSERT_SQL = (
    f"INSERT INTO interactions ({', '.join(INSERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in INSERT_COLUMNS)})"
)


@dataclass(frozen=True, slots=True)
class JournalRow:
    """One row of the journal table (serve --journal): a served request as persisted. The one
    description of its columns: virt.match.journal.Served builds it, JOURNAL_INSERT writes it."""

    at: str
    door: str
    method: str
    url: str
    match: str
    interaction_id: int | None
    status: int
    detail: str | None
    """JSON: the served request's other fields (why it missed, how it matched)."""


JOURNAL_COLUMNS = tuple(f.name for f in fields(JournalRow))
JOURNAL_INSERT = (
    f"INSERT INTO journal ({', '.join(JOURNAL_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in JOURNAL_COLUMNS)})"
)


def journal_values(row: JournalRow) -> tuple[Any, ...]:
    """`row`'s values in JOURNAL_COLUMNS order, for JOURNAL_INSERT."""
    return astuple(row)


def create(db: sqlite_utils.Database) -> None:
    """Create the tables of schema 1 in an empty database; MIGRATIONS take it from there."""
    db.create_table("meta", {"key": str, "value": str}, pk="key")
    db.create_table("interactions", V1_COLUMNS, pk="id", not_null=NOT_NULL)
    table = db.table("interactions")
    # exact matching: one index seek returns the recorded sequence for a request, in order
    table.create_index(["exact_key", "id"], index_name="interactions_exact")
    # nearest recordings for a miss report, and per-route listings
    table.create_index(["host", "path", "method"], index_name="interactions_route")
    table.create_index(["session", "seq"], index_name="interactions_session_seq", unique=True)
    db.execute("PRAGMA user_version = 1")


FTS_COLUMNS = ("host", "path", "query", "request_body", "response_body")


def _to_v2(db: sqlite_utils.Database) -> None:
    """Schema 2: tags, full-text search over URLs and bodies, and the persisted journal."""
    db.execute(
        "CREATE TABLE tags (interaction_id INTEGER NOT NULL, tag TEXT NOT NULL, "
        "PRIMARY KEY (interaction_id, tag)) WITHOUT ROWID"
    )
    db.execute("CREATE INDEX tags_tag ON tags (tag, interaction_id)")
    # external content: the index refers to interactions rows instead of copying their text
    cols = ", ".join(FTS_COLUMNS)
    new = ", ".join(f"new.{c}" for c in FTS_COLUMNS)
    old = ", ".join(f"old.{c}" for c in FTS_COLUMNS)
    db.execute(
        f"CREATE VIRTUAL TABLE interactions_fts USING fts5({cols}, "
        "content='interactions', content_rowid='id')"
    )
    db.execute(
        "CREATE TRIGGER interactions_fts_ai AFTER INSERT ON interactions BEGIN "
        f"INSERT INTO interactions_fts (rowid, {cols}) VALUES (new.id, {new}); END"
    )
    db.execute(
        "CREATE TRIGGER interactions_fts_ad AFTER DELETE ON interactions BEGIN "
        f"INSERT INTO interactions_fts (interactions_fts, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old}); END"
    )
    db.execute(
        "CREATE TRIGGER interactions_fts_au AFTER UPDATE ON interactions BEGIN "
        f"INSERT INTO interactions_fts (interactions_fts, rowid, {cols}) "
        f"VALUES ('delete', old.id, {old}); "
        f"INSERT INTO interactions_fts (rowid, {cols}) VALUES (new.id, {new}); END"
    )
    db.execute("INSERT INTO interactions_fts (interactions_fts) VALUES ('rebuild')")
    db.execute(
        "CREATE TABLE journal (id INTEGER PRIMARY KEY, at TEXT NOT NULL, door TEXT NOT NULL, "
        "method TEXT NOT NULL, url TEXT NOT NULL, match TEXT NOT NULL, "
        "interaction_id INTEGER, status INTEGER NOT NULL, detail TEXT)"
    )
    db.execute("CREATE INDEX interactions_recorded_at ON interactions (recorded_at)")


def _to_v3(db: sqlite_utils.Database) -> None:
    """Schema 3: canonical_key, so requests that drift (JSON key order, signed query
    parameters, multipart boundaries) find their recording in one index seek. Existing rows
    get their key from the engine when a writable server opens them (store never normalizes).
    """
    db.execute("ALTER TABLE interactions ADD COLUMN canonical_key TEXT")
    db.execute("CREATE INDEX interactions_canonical ON interactions (canonical_key, id)")


def _to_v4(db: sqlite_utils.Database) -> None:
    """Schema 4: route_key (method, origin and route template), so fuzzy matching scores only a
    request's candidate group. Existing rows get it with their canonical key on open."""
    db.execute("ALTER TABLE interactions ADD COLUMN route_key TEXT")
    db.execute("CREATE INDEX interactions_route_key ON interactions (route_key, id)")


def _to_v5(db: sqlite_utils.Database) -> None:
    """Schema 5: keys compare paths in their RFC 3986 normal form and queries as decoded bytes,
    so `%3C` and `<` give one key. No column changes: every row's keys are cleared, and the
    engine computes all three afresh (exact key included) when a writable server opens it."""
    db.execute("UPDATE interactions SET canonical_key = NULL, route_key = NULL")


def _to_v6(db: sqlite_utils.Database) -> None:
    """Schema 6: request_pattern, the host and path patterns of a recording made from a stub
    (WireMock's urlPattern, Hoverfly's glob matchers), for the pattern stage of matching.
    Existing rows have none: they were imported with their patterns as literal URLs."""
    db.execute("ALTER TABLE interactions ADD COLUMN request_pattern TEXT")
    db.execute(
        "CREATE INDEX interactions_pattern ON interactions (method, id) "
        "WHERE request_pattern IS NOT NULL"
    )


def _to_v7(db: sqlite_utils.Database) -> None:
    """Schema 7: documents, the API descriptions (OpenAPI) imported beside the recordings, kept
    as the bytes that were given so a later virt can read them again its own way."""
    db.execute(
        "CREATE TABLE documents (id INTEGER PRIMARY KEY, kind TEXT NOT NULL, name TEXT NOT NULL, "
        "sha256 TEXT NOT NULL, content BLOB NOT NULL, added_at TEXT NOT NULL)"
    )
    db.execute("CREATE UNIQUE INDEX documents_identity ON documents (kind, name, sha256)")


ORIGIN_INDEX = "CREATE INDEX IF NOT EXISTS interactions_origin ON interactions (host, scheme, port)"
"""Lets the recorded origins be listed with one index seek per origin instead of a scan of
every row (a million recordings: 0.3 s warm, seconds cold). Not a schema change: a writable
open adds it where it is missing, and older versions of virt read the file as before."""


MIGRATIONS: dict[int, Callable[[sqlite_utils.Database], None]] = {
    1: _to_v2,
    2: _to_v3,
    3: _to_v4,
    4: _to_v5,
    5: _to_v6,
    6: _to_v7,
}
"""from-version -> step that brings a database to from-version + 1."""


def _headers_json(headers: Headers) -> str:
    return orjson.dumps([list(h) for h in headers]).decode()


def _headers(value: str) -> Headers:
    pairs = orjson.loads(value)
    if all(type(k) is str and type(v) is str for k, v in pairs):  # as virt writes them
        return tuple((k, v) for k, v in pairs)
    return tuple((str(k), str(v)) for k, v in pairs)


def to_row(interaction: Interaction, key: str | Keys, seq: int) -> tuple[Any, ...]:
    """The INSERT_SQL parameters for `interaction`, numbered `seq` in its session."""
    keys = Keys(key) if isinstance(key, str) else key
    req, resp, t = interaction.request, interaction.response, interaction.timings
    timings = None
    if t is not None:
        timings = orjson.dumps(
            {
                "request_start": t.request_start,
                "request_end": t.request_end,
                "response_start": t.response_start,
                "response_end": t.response_end,
            }
        ).decode()
    values: dict[str, Any] = {
        "session": interaction.session,
        "seq": seq,
        "recorded_at": interaction.recorded_at,
        "scheme": req.scheme,
        "host": req.host,
        "port": req.port,
        "method": req.method,
        "path": req.path,
        "query": req.query,
        "request_http_version": req.http_version,
        "request_headers": _headers_json(req.headers),
        "request_body": req.body,
        "request_encoding": req.encoding,
        "status": resp.status,
        "reason": resp.reason,
        "response_http_version": resp.http_version,
        "response_headers": _headers_json(resp.headers),
        "response_body": resp.body,
        "response_encoding": resp.encoding,
        "response_wire_body": resp.wire_body,
        "timings": timings,
        "duration_ms": t.duration_ms if t else None,
        "source": interaction.source,
        "source_format": interaction.source_format,
        "exact_key": keys.exact,
        "canonical_key": keys.canonical,
        "route_key": keys.route,
        "request_pattern": pattern_json(interaction.pattern),
    }
    return tuple(values[c] for c in INSERT_COLUMNS)


def pattern_json(pattern: RequestPattern | None) -> str | None:
    """The request_pattern column of `pattern`: {"host": {"kind", "value"}, "path": ...}."""
    if pattern is None:
        return None
    out: dict[str, Any] = {}
    for name, part in (("host", pattern.host), ("path", pattern.path)):
        if part is not None:
            out[name] = {"kind": part.kind.value, "value": part.value}
    if pattern.with_query:
        out["with_query"] = True
    return orjson.dumps(out).decode()


def pattern_from(value: str | None) -> RequestPattern | None:
    """The RequestPattern in a request_pattern column; None for none (or one this virt does
    not know how to match, which then never matches rather than matching wrongly)."""
    if not value:
        return None
    data = orjson.loads(value)
    parts: dict[str, Pattern | None] = {}
    for name in ("host", "path"):
        part = data.get(name)
        if part is None:
            parts[name] = None
            continue
        try:
            parts[name] = Pattern(PatternKind(part["kind"]), str(part["value"]))
        except (KeyError, TypeError, ValueError):
            return None
    return RequestPattern(parts["host"], parts["path"], bool(data.get("with_query")))


REQUEST_SELECT = (
    "id, method, scheme, host, port, path, query, request_headers, request_body, "
    "request_encoding, request_http_version"
)
"""The columns request_from_row needs: a request without its response."""


def request_from_row(row: dict[str, Any]) -> Request:
    """The Request stored in `row` (REQUEST_SELECT columns, or every column)."""
    return Request(
        method=row["method"],
        scheme=row["scheme"],
        host=row["host"],
        port=row["port"],
        path=row["path"],
        query=row["query"],
        headers=_headers(row["request_headers"]),
        body=bytes(row["request_body"]),
        encoding=row["request_encoding"],
        http_version=row["request_http_version"] or "HTTP/1.1",
    )


def from_row(row: dict[str, Any]) -> Interaction:
    """The Interaction stored in `row` (a dict of every column)."""
    t = orjson.loads(row["timings"]) if row["timings"] else None
    return Interaction(
        id=row["id"],
        session=row["session"],
        seq=row["seq"],
        recorded_at=row["recorded_at"],
        timings=Timings(**t) if t else None,
        source=row["source"],
        source_format=row["source_format"],
        pattern=pattern_from(row.get("request_pattern")),
        request=request_from_row(row),
        response=Response(
            status=row["status"],
            reason=row["reason"] or "",
            headers=_headers(row["response_headers"]),
            body=bytes(row["response_body"]),
            encoding=row["response_encoding"],
            wire_body=None
            if row["response_wire_body"] is None
            else bytes(row["response_wire_body"]),
            http_version=row["response_http_version"] or "HTTP/1.1",
        ),
    )
