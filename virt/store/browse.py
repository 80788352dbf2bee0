"""Reads for people and reports, not for matching: the recordings nearest to a miss, search,
tags, route counts and the stored documents; and the small records that name recordings."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from virt.model import Interaction
from virt.store import query, tables
from virt.store.connection import translate
from virt.store.query import Filter

NEAREST_SCAN = 2000
"""Rows of the route index one query for the nearest recordings looks at, at most."""


@dataclass(frozen=True, slots=True, order=True)
class Origin:
    """A recorded upstream: scheme, host and port."""

    scheme: str
    host: str
    port: int

    @property
    def url(self) -> str:
        default = {"http": 80, "https": 443}.get(self.scheme)
        return f"{self.scheme}://{self.host}" + ("" if self.port == default else f":{self.port}")


@dataclass(frozen=True, slots=True)
class Summary:
    """One line about an interaction: enough to name it in a report without loading bodies."""

    id: int
    method: str
    url: str
    status: int

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "method": self.method, "url": self.url, "status": self.status}

    @classmethod
    def of(cls, interaction: Interaction) -> Summary:
        r = interaction.request
        target = r.path + (f"?{r.query}" if r.query else "")
        origin = Origin(r.scheme, r.host, r.port).url
        return cls(interaction.id or 0, r.method, origin + target, interaction.response.status)


class Browse:
    """The reads that answer people (the admin API, the web page, a miss report) rather than
    the matching stages; Reads adds those, Store opening and writing."""

    db: sqlite_utils.Database
    path: Path

    def nearest(self, method: str, host: str, path: str, limit: int = 5) -> list[Summary]:
        """Recordings closest to a request by method, host and path, without scanning the table.

        Same host, path and method first (one seek of the route index), then same host and path
        with any method, then same host and method, these two each among the first NEAREST_SCAN
        recordings of the path (or host) in the route index.
        """
        # each query looks at NEAREST_SCAN rows of the route index at most, and reads ids and
        # methods from the index alone: a miss on a host with a million recordings costs what
        # it costs on a small one, and only the rows listed are read from the table
        queries: list[tuple[str, list[Any]]] = [
            (  # one seek of the route index: usually all a miss needs
                "SELECT id FROM interactions "
                "WHERE host = ? AND path = ? AND method = ? ORDER BY id LIMIT ?",
                [host, path, method, limit],
            ),
            (
                "SELECT id FROM (SELECT id, method FROM interactions "
                "WHERE host = ? AND path = ? LIMIT ?) ORDER BY method != ?, id LIMIT ?",
                [host, path, NEAREST_SCAN, method, limit],
            ),
            (
                "SELECT id FROM (SELECT id, method FROM interactions "
                "WHERE host = ? LIMIT ?) WHERE method = ? ORDER BY id LIMIT ?",
                [host, NEAREST_SCAN, method, limit],
            ),
        ]
        if not is_utf8(path):
            # a path decoded with surrogateescape cannot be bound, nor equal any stored one
            del queries[:2]
        ids: dict[int, None] = {}
        for sql, params in queries:
            for (id,) in self.db.execute(sql, params):
                ids.setdefault(id, None)
            if len(ids) >= limit:
                break
        chosen = list(ids)[:limit]
        if not chosen:
            return []
        marks = ", ".join("?" for _ in chosen)
        columns = "id, method, scheme, host, port, path, query, status"
        rows = {
            row["id"]: row
            for row in self.db.query(
                f"SELECT {columns} FROM interactions WHERE id IN ({marks})", chosen
            )
        }
        found = []
        for id in chosen:
            row = rows.get(id)
            if row is not None:  # deleted between the two reads
                origin = Origin(row["scheme"], row["host"], row["port"]).url
                target = row["path"] + (f"?{row['query']}" if row["query"] else "")
                found.append(Summary(id, row["method"], origin + target, row["status"]))
        return found

    def tags(self, ids: Sequence[int]) -> dict[int, list[str]]:
        """Tags of each of `ids`, sorted; ids without tags are left out."""
        out: dict[int, list[str]] = {}
        for chunk_start in range(0, len(ids), 500):
            chunk = list(ids[chunk_start : chunk_start + 500])
            marks = ", ".join("?" for _ in chunk)
            for iid, tag in self.db.execute(
                f"SELECT interaction_id, tag FROM tags WHERE interaction_id IN ({marks}) "
                "ORDER BY interaction_id, tag",
                chunk,
            ):
                out.setdefault(iid, []).append(tag)
        return out

    def find(self, f: Filter, *, after: int | None = None, limit: int = 50) -> list[Interaction]:
        """Interactions matching `f` with ids above `after`, in id order, at most `limit`."""
        phrases = query.fts_query(f.q) if f.q is not None else ""
        if phrases:
            # walk the full-text index in id order and stop at `limit`: `id IN (SELECT ...)`
            # reads every match first, a million for a word in every recording
            clause, params = query.where(dataclasses.replace(f, q=None), None, table="i")
            rows = self.db.query(
                "SELECT i.* FROM interactions_fts JOIN interactions AS i "
                "ON i.id = interactions_fts.rowid WHERE interactions_fts MATCH ? "
                "AND interactions_fts.rowid > ?"
                + clause.replace(" WHERE ", " AND ", 1)
                + " ORDER BY interactions_fts.rowid LIMIT ?",
                [phrases, after or 0, *params, limit],
            )
        else:
            clause, params = query.where(f, after)
            rows = self.db.query(
                f"SELECT * FROM interactions{clause} ORDER BY id LIMIT ?", [*params, limit]
            )
        try:
            return [tables.from_row(r) for r in rows]
        except sqlite3.DatabaseError as e:
            raise translate(e, self.path) from e

    def route_counts(self) -> list[tuple[str, str, str, int]]:
        """(host, method, path, interactions) for every recorded route, most recorded first."""
        cur = self.db.execute(
            "SELECT host, method, path, COUNT(*) AS n FROM interactions "
            "GROUP BY host, method, path ORDER BY n DESC, host, path, method"
        )
        return [(h, m, p, int(n)) for h, m, p, n in cur.fetchall()]

    def documents_stamp(self, kind: str) -> tuple[int, int]:
        """(how many, newest id) of the stored documents of `kind`: changes when one is added
        or removed, without reading them."""
        try:
            row = self.db.conn.execute(
                "SELECT COUNT(*), COALESCE(MAX(id), 0) FROM documents WHERE kind = ?", (kind,)
            ).fetchone()
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return (0, 0)
            raise translate(e, self.path) from e
        return (int(row[0]), int(row[1]))

    def documents(self, kind: str) -> list[tuple[str, bytes]]:
        """(name, content) of every stored document of `kind` ("openapi"), oldest first. A file
        older than schema 7 (open read-only, so not upgraded) has none."""
        try:
            cur = self.db.conn.execute(
                "SELECT name, content FROM documents WHERE kind = ? ORDER BY id", (kind,)
            )
            return [(str(name), bytes(content)) for name, content in cur.fetchall()]
        except sqlite3.OperationalError as e:
            if "no such table" in str(e):
                return []
            raise translate(e, self.path) from e
        except sqlite3.DatabaseError as e:
            raise translate(e, self.path) from e


def is_utf8(text: str) -> bool:
    """Whether `text` can be bound as SQL text: a path decoded with surrogateescape cannot."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
