"""Reads of a recordings database for matching: by key, by candidate group, by id range;
response bodies stay on disk unless a whole interaction is asked for. The reads for people
(search, the nearest recordings to a miss, documents) are in virt.store.browse."""

from __future__ import annotations

import functools
from typing import Any

from virt.model import Interaction, Request, RequestPattern
from virt.store import tables
from virt.store.browse import Browse, Origin, is_utf8


@functools.lru_cache(maxsize=8)
def _column_names(description: tuple[tuple[Any, ...], ...]) -> tuple[str, ...]:
    """The column names of a cursor's rows (one description per query shape, remembered)."""
    return tuple(d[0] for d in description)


SUPERSEDED = "superseded"
"""The tag of a recording replaced by a newer answer (virt drift --update): kept for the
record, never matched."""
_CURRENT = (
    "NOT EXISTS (SELECT 1 FROM tags WHERE tag = 'superseded' "
    "AND tags.interaction_id = interactions.id)"
)
"""SQL true for a recording matching may use; one seek of tags_tag (tag, interaction_id)."""


class Reads(Browse):
    """The reading half of Store: every query that leaves the database as it was. Store adds
    opening, migrating and writing."""

    def get(self, id: int) -> Interaction | None:
        # a plain cursor: replay reads one row per request, and sqlite-utils' query() costs
        # twice as much as the read itself
        cur = self.db.conn.execute("SELECT * FROM interactions WHERE id = ?", (id,))
        row = cur.fetchone()
        if row is None:
            return None
        names = _column_names(cur.description)
        return tables.from_row(dict(zip(names, row, strict=True)))

    def scan(self, after: int, limit: int) -> list[tuple[Interaction, str | None, bool]]:
        """The interactions with an id above `after`, in id order, at most `limit`: each with
        its exact key and whether matching may use it (not superseded). One range of the
        primary key, for warming a cache in chunks."""
        cur = self.db.conn.execute(
            f"SELECT *, {_CURRENT} AS current_ FROM interactions WHERE id > ? ORDER BY id LIMIT ?",
            (after, limit),
        )
        names = _column_names(cur.description)
        out = []
        for values in cur.fetchall():
            row = dict(zip(names, values, strict=True))
            out.append((tables.from_row(row), row["exact_key"], bool(row["current_"])))
        return out

    def canonical_ids(self, canonical_key: str) -> list[int]:
        """Ids of the interactions with `canonical_key`, in recorded order."""
        cur = self.db.execute(
            f"SELECT id FROM interactions WHERE canonical_key = ? AND {_CURRENT} ORDER BY id",
            [canonical_key],
        )
        return [r[0] for r in cur.fetchall()]

    def without_keys(self, limit: int = 1000) -> list[tuple[int, Request]]:
        """Requests written before schema 5 (or by a caller that gave only the exact key), whose
        keys are missing or were computed the old way. One index seek: cheap when there are
        none."""
        rows = self.db.query(
            f"SELECT {tables.REQUEST_SELECT} FROM interactions WHERE route_key IS NULL "
            "ORDER BY id LIMIT ?",
            [limit],
        )
        return [(r["id"], tables.request_from_row(r)) for r in rows]

    def group(
        self, route_key: str, limit: int, near: Request | None = None
    ) -> list[tuple[int, Request]]:
        """The requests of one candidate group (same method, origin and route template), in
        recorded order, at most `limit`: those with the very host, path and method of `near`
        first, then the rest. Two index seeks; response bodies are left on disk.
        """
        first = self.same_path(route_key, near, limit) if near is not None else []
        return merged(first, self.group_rows(route_key, limit), limit)

    def group_rows(self, route_key: str, limit: int) -> list[tuple[int, Request]]:
        """The first `limit` requests of a candidate group, in recorded order."""
        select = f"SELECT {tables.REQUEST_SELECT} FROM interactions"
        rows = self.db.query(
            f"{select} WHERE route_key = ? AND {_CURRENT} ORDER BY id LIMIT ?", [route_key, limit]
        )
        return [(row["id"], tables.request_from_row(row)) for row in rows]

    def same_path(self, route_key: str, near: Request, limit: int) -> list[tuple[int, Request]]:
        """The requests of a candidate group with the very host, path and method of `near`."""
        if not is_utf8(near.path):
            return []
        # through the (host, path, method) index, not route_key's: a route group can hold
        # most of the table, and its rows with this very path are few
        rows = self.db.query(
            f"SELECT {tables.REQUEST_SELECT} FROM interactions "
            "WHERE host = ? AND path = ? AND method = ? AND +route_key = ? "
            f"AND {_CURRENT} ORDER BY id LIMIT ?",
            [near.host, near.path, near.method, route_key, limit],
        )
        return [(row["id"], tables.request_from_row(row)) for row in rows]

    def under(self, method: str, host: str, prefix: str, limit: int) -> list[tuple[int, str]]:
        """(id, path) of recordings of `method` on `host` whose path starts with `prefix`, at
        most `limit`: a range of the (host, path, method) index, never a scan."""
        if not prefix or not is_utf8(prefix) or not is_utf8(host):
            return []
        # the smallest string above every one that starts with prefix
        upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        cur = self.db.execute(
            "SELECT id, path FROM interactions WHERE host = ? AND path >= ? AND path < ? "
            "AND method = ? LIMIT ?",
            [host, prefix, upper, method, limit],
        )
        return [(r[0], r[1]) for r in cur.fetchall()]

    def route_groups(self, limit: int) -> list[tuple[int, str]]:
        """(first id, route key) of each route group, at most `limit`: a walk of the route key
        index, one seek per group."""
        out: list[tuple[int, str]] = []
        row = self.db.execute(
            "SELECT route_key, MIN(id) FROM interactions WHERE route_key = "
            "(SELECT MIN(route_key) FROM interactions)"
        ).fetchone()
        while row is not None and row[0] is not None and len(out) < limit:
            out.append((row[1], row[0]))
            row = self.db.execute(
                "SELECT route_key, MIN(id) FROM interactions WHERE route_key = "
                "(SELECT MIN(route_key) FROM interactions WHERE route_key > ?)",
                [row[0]],
            ).fetchone()
        return sorted(out)

    def patterned(self, method: str, limit: int) -> list[tuple[int, RequestPattern, Request]]:
        """The recordings of `method` made from stubs with a URL pattern, in recorded order,
        at most `limit`: one seek in a partial index that holds only those."""
        rows = self.db.query(
            f"SELECT {tables.REQUEST_SELECT}, request_pattern FROM interactions "
            "WHERE method = ? AND request_pattern IS NOT NULL ORDER BY id LIMIT ?",
            [method, limit],
        )
        out = []
        for row in rows:
            pattern = tables.pattern_from(row["request_pattern"])
            if pattern is not None:
                out.append((row["id"], pattern, tables.request_from_row(row)))
        return out

    def exact_ids(self, exact_key: str) -> list[int]:
        """Ids of the interactions with `exact_key`, in recorded order."""
        cur = self.db.execute(
            f"SELECT id FROM interactions WHERE exact_key = ? AND {_CURRENT} ORDER BY id",
            [exact_key],
        )
        return [r[0] for r in cur.fetchall()]

    def exact_first(self, exact_key: str) -> tuple[list[int], Interaction | None]:
        """The ids of the interactions with `exact_key` (as exact_ids), and the first of them
        whole: one query for the usual key recorded once, where ids then get would be two."""
        cur = self.db.conn.execute(
            f"SELECT * FROM interactions WHERE exact_key = ? AND {_CURRENT} ORDER BY id LIMIT 2",
            (exact_key,),
        )
        rows = cur.fetchall()
        if not rows:
            return [], None
        first = tables.from_row(dict(zip(_column_names(cur.description), rows[0], strict=True)))
        if len(rows) == 1:
            return [rows[0][0]], first
        return self.exact_ids(exact_key), first  # a sequence: every id of it

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])

    def origins(self) -> list[Origin]:
        """Every recorded upstream, sorted: one seek of interactions_origin per origin where
        the index exists (a read-only file from before it may not have it: then a scan)."""
        has_index = self.db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = 'interactions_origin'"
        ).fetchone()
        if not has_index:
            cur = self.db.execute("SELECT DISTINCT scheme, host, port FROM interactions")
            return sorted(Origin(s, h, p) for s, h, p in cur.fetchall())
        found: list[Origin] = []
        sql = "SELECT host, scheme, port FROM interactions INDEXED BY interactions_origin"
        order = "ORDER BY host, scheme, port LIMIT 1"
        row = self.db.execute(f"{sql} {order}").fetchone()
        while row is not None:
            host, scheme, port = row
            found.append(Origin(scheme, host, port))
            # the next origin: each of these is one seek (a row-value > would scan the host)
            row = (
                self.db.execute(
                    f"{sql} WHERE host = ? AND scheme = ? AND port > ? {order}",
                    (host, scheme, port),
                ).fetchone()
                or self.db.execute(
                    f"{sql} WHERE host = ? AND scheme > ? {order}", (host, scheme)
                ).fetchone()
                or self.db.execute(f"{sql} WHERE host > ? {order}", (host,)).fetchone()
            )
        return sorted(found)


def merged(
    first: list[tuple[int, Request]], rest: list[tuple[int, Request]], limit: int
) -> list[tuple[int, Request]]:
    """`first`, then the rows of `rest` not in it, at most `limit` in all; `rest` holds each id
    once (rows of one query)."""
    if not first:  # a path nobody recorded: the route's first rows as they are
        return rest[:limit]
    out = dict(first[:limit])
    for id, request in rest:
        if len(out) >= limit:
            break
        out.setdefault(id, request)
    return list(out.items())
