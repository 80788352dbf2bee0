"""Store: opens, checks, reads and writes a recordings database. The only code that speaks SQL."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Self
from urllib.parse import quote

import sqlite_utils

from virt.errors import NotADatabase, SchemaTooNew, StoreError, StoreReadOnly
from virt.model import Interaction, Keys, Request, RequestPattern
from virt.store import query, tables
from virt.store.query import Filter
from virt.store.tables import SCHEMA_VERSION

__all__ = ["SCHEMA_VERSION", "Filter", "Origin", "Store", "Summary"]

_SQLITE_MAGIC = b"SQLite format 3\0"
_READ_ONLY_HINT = "record into a writable folder, or fix the file's permissions"


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


class Store:
    """A recordings database. Not thread-safe: each thread opens its own Store."""

    def __init__(self, db: sqlite_utils.Database, path: Path, readonly: bool) -> None:
        self.db = db
        self.path = path
        self.readonly = readonly

    @classmethod
    def open(cls, path: Path, *, readonly: bool = False, create: bool = True) -> Self:
        """Open `path`, creating it and its folder when missing if `create` (and not `readonly`).

        Raises a StoreError subclass naming the problem; never modifies a file it refuses.
        """
        path = Path(path)
        _check_file(path, create=create and not readonly)
        conn: sqlite3.Connection | None = None
        try:
            conn = _connect(path, readonly)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            names = set(db.table_names())
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()  # an open handle would keep -wal/-shm files and the mount busy
            raise _translate(e, path) from e
        if version > SCHEMA_VERSION:
            conn.close()
            raise SchemaTooNew(
                f"{path} was written by a newer virt (schema {version}; "
                f"this one reads up to {SCHEMA_VERSION})",
                hint="upgrade virt: pip install -U virt",
            )
        if version == 0 and names:
            conn.close()
            raise NotADatabase(
                f"{path} is an SQLite database but not a virt recording "
                f"(it has tables {', '.join(sorted(names)[:5])})",
                hint="pass a new file name; virt left this one untouched",
            )
        store = cls(db, path, readonly)
        if not readonly:
            try:
                store._prepare(version)
            except StoreError:
                store.close()
                raise
        return store

    def _prepare(self, version: int) -> None:
        try:
            self.db.enable_wal()
            self.db.execute("PRAGMA synchronous = NORMAL")  # WAL + NORMAL survives a killed process
            with self.db.conn:
                self.db.execute("BEGIN IMMEDIATE")
                if version == 0:
                    tables.create(self.db)
                    version = 1
                while version < SCHEMA_VERSION:
                    tables.MIGRATIONS[version](self.db)
                    version += 1
                    self.db.execute(f"PRAGMA user_version = {version}")
        except sqlite3.DatabaseError as e:
            raise _translate(e, self.path) from e

    def close(self) -> None:
        self.db.conn.close()

    # writing

    def insert_many(self, batch: Sequence[tuple[Interaction, str | Keys]]) -> list[tuple[int, int]]:
        """Write `(interaction, exact_key)` pairs in one transaction; returns (id, seq) for each.

        Each interaction's seq is set to the next number in its recording session.
        """
        if self.readonly:
            raise StoreReadOnly(f"{self.path} is open read-only", hint=_READ_ONLY_HINT)
        out: list[tuple[int, int]] = []
        conn = self.db.conn
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                next_seq: dict[str, int] = {}
                for interaction, key in batch:
                    session = interaction.session
                    if session not in next_seq:
                        row = conn.execute(
                            "SELECT COALESCE(MAX(seq), 0) FROM interactions WHERE session = ?",
                            (session,),
                        ).fetchone()
                        next_seq[session] = int(row[0]) + 1
                    seq = next_seq[session]
                    next_seq[session] = seq + 1
                    cur = conn.execute(tables.INSERT_SQL, tables.to_row(interaction, key, seq))
                    out.append((int(cur.lastrowid or 0), seq))
        except sqlite3.DatabaseError as e:
            raise _translate(e, self.path) from e
        return out

    def insert(self, interaction: Interaction, exact_key: str | Keys) -> Interaction:
        ((id, seq),) = self.insert_many([(interaction, exact_key)])
        return interaction.with_id(id, seq)

    def update(
        self, id: int, interaction: Interaction, exact_key: str | Keys
    ) -> Interaction | None:
        """Replace interaction `id` (keeping its session and seq); None when there is none."""
        self._writable()
        existing = self.get(id)
        if existing is None:
            return None
        params = dict(
            zip(
                tables.INSERT_COLUMNS,
                tables.to_row(interaction, exact_key, existing.seq),
                strict=True,
            )
        )
        params["session"] = existing.session
        sets = ", ".join(f"{c} = :{c}" for c in params)
        with self._transaction() as conn:
            conn.execute(f"UPDATE interactions SET {sets} WHERE id = :id", {**params, "id": id})
        return self.get(id)

    def delete(self, id: int) -> bool:
        self._writable()
        with self._transaction() as conn:
            conn.execute("DELETE FROM tags WHERE interaction_id = ?", (id,))
            deleted = conn.execute("DELETE FROM interactions WHERE id = ?", (id,)).rowcount
        return deleted > 0

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

    def set_tags(self, id: int, tags: Iterable[str]) -> None:
        self._writable()
        with self._transaction() as conn:
            conn.execute("DELETE FROM tags WHERE interaction_id = ?", (id,))
            conn.executemany(
                "INSERT OR IGNORE INTO tags (interaction_id, tag) VALUES (?, ?)",
                [(id, t) for t in tags],
            )

    def find(self, f: Filter, *, after: int | None = None, limit: int = 50) -> list[Interaction]:
        """Interactions matching `f` with ids above `after`, in id order, at most `limit`."""
        clause, params = query.where(f, after)
        rows = self.db.query(
            f"SELECT * FROM interactions{clause} ORDER BY id LIMIT ?", [*params, limit]
        )
        try:
            return [tables.from_row(r) for r in rows]
        except sqlite3.DatabaseError as e:
            raise _translate(e, self.path) from e

    def route_counts(self) -> list[tuple[str, str, str, int]]:
        """(host, method, path, interactions) for every recorded route, most recorded first."""
        cur = self.db.execute(
            "SELECT host, method, path, COUNT(*) AS n FROM interactions "
            "GROUP BY host, method, path ORDER BY n DESC, host, path, method"
        )
        return [(h, m, p, int(n)) for h, m, p, n in cur.fetchall()]

    def journal(self, entries: Sequence[dict[str, Any]]) -> None:
        """Append served-request records (at, door, method, url, match, interaction_id, status,
        detail) to the persisted journal."""
        self._writable()
        with self._transaction() as conn:
            conn.executemany(
                "INSERT INTO journal (at, door, method, url, match, interaction_id, status, "
                "detail) VALUES (:at, :door, :method, :url, :match, :interaction_id, :status, "
                ":detail)",
                entries,
            )

    def _writable(self) -> None:
        if self.readonly:
            raise StoreReadOnly(f"{self.path} is open read-only", hint=_READ_ONLY_HINT)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
        except sqlite3.DatabaseError as e:
            raise _translate(e, self.path) from e

    # reading

    def get(self, id: int) -> Interaction | None:
        # a plain cursor: replay reads one row per request, and sqlite-utils' query() costs
        # twice as much as the read itself
        cur = self.db.conn.execute("SELECT * FROM interactions WHERE id = ?", (id,))
        row = cur.fetchone()
        if row is None:
            return None
        return tables.from_row(dict(zip((d[0] for d in cur.description), row, strict=True)))

    def canonical_ids(self, canonical_key: str) -> list[int]:
        """Ids of the interactions with `canonical_key`, in recorded order."""
        cur = self.db.execute(
            "SELECT id FROM interactions WHERE canonical_key = ? ORDER BY id", [canonical_key]
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

    def set_keys(self, pairs: Sequence[tuple[int, Keys]]) -> None:
        """Store the keys of existing interactions: exact, canonical and route."""
        self._writable()
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE interactions SET exact_key = ?, canonical_key = ?, route_key = ? "
                "WHERE id = ?",
                [(keys.exact, keys.canonical, keys.route, id) for id, keys in pairs],
            )

    def group(
        self, route_key: str, limit: int, near: Request | None = None
    ) -> list[tuple[int, Request]]:
        """The requests of one candidate group (same method, origin and route template), in
        recorded order, at most `limit`: those with the very host, path and method of `near`
        first, then the rest. Two index seeks; response bodies are left on disk.
        """
        out: dict[int, Request] = {}
        select = f"SELECT {tables.REQUEST_SELECT} FROM interactions"
        queries: list[tuple[str, list[Any]]] = [
            (f"{select} WHERE route_key = ? ORDER BY id LIMIT ?", [route_key, limit])
        ]
        if near is not None and _is_utf8(near.path):
            # through the (host, path, method) index, not route_key's: a route group can hold
            # most of the table, and its rows with this very path are few
            same_path = (
                f"{select} WHERE host = ? AND path = ? AND method = ? AND +route_key = ? "
                "ORDER BY id LIMIT ?"
            )
            queries.insert(0, (same_path, [near.host, near.path, near.method, route_key, limit]))
        for text, params in queries:
            for row in self.db.query(text, params):
                if len(out) >= limit:
                    break
                if row["id"] not in out:
                    out[row["id"]] = tables.request_from_row(row)
        return list(out.items())

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
            "SELECT id FROM interactions WHERE exact_key = ? ORDER BY id", [exact_key]
        )
        return [r[0] for r in cur.fetchall()]

    def count(self) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])

    def origins(self) -> list[Origin]:
        """Every recorded upstream, sorted."""
        cur = self.db.execute("SELECT DISTINCT scheme, host, port FROM interactions")
        return sorted(Origin(s, h, p) for s, h, p in cur.fetchall())

    def nearest(self, method: str, host: str, path: str, limit: int = 5) -> list[Summary]:
        """Recordings closest to a request by method, host and path, without scanning the table.

        Same host and path first (any method, the same method first), then same host and method.
        """
        found: dict[int, Summary] = {}
        queries: list[tuple[str, list[Any]]] = [
            (
                "SELECT id, method, scheme, host, port, path, query, status FROM interactions "
                "WHERE host = ? AND path = ? ORDER BY method != ?, id LIMIT ?",
                [host, path, method, limit],
            ),
            (
                "SELECT id, method, scheme, host, port, path, query, status FROM interactions "
                "WHERE host = ? AND method = ? ORDER BY id LIMIT ?",
                [host, method, limit],
            ),
        ]
        if not _is_utf8(path):
            # a path decoded with surrogateescape cannot be bound, nor equal any stored one
            del queries[0]
        for sql, params in queries:
            for row in self.db.query(sql, params):
                if len(found) >= limit:
                    break
                origin = Origin(row["scheme"], row["host"], row["port"]).url
                target = row["path"] + (f"?{row['query']}" if row["query"] else "")
                found.setdefault(
                    row["id"], Summary(row["id"], row["method"], origin + target, row["status"])
                )
        return list(found.values())[:limit]


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _connect(path: Path, readonly: bool) -> sqlite3.Connection:
    if not readonly:
        return sqlite3.connect(path, timeout=30)
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"  # ?, # and % in a name are not URI syntax
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.execute("PRAGMA user_version")
    except sqlite3.DatabaseError as e:
        conn.close()
        if not isinstance(e, sqlite3.OperationalError) or os.access(path.parent, os.W_OK):
            raise
        # A WAL database on a read-only volume: SQLite cannot create the -shm file that readers
        # share, and nothing can write the file there, so it is safe to read it as immutable.
        return sqlite3.connect(uri + "&immutable=1", uri=True)
    return conn


def _check_file(path: Path, *, create: bool) -> None:
    if path.is_dir():
        raise NotADatabase(
            f"{path} is a directory", hint="pass a database file, such as recordings/api.db"
        )
    if path.exists():
        try:
            with path.open("rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror}", hint=_READ_ONLY_HINT) from e
        if head and head != _SQLITE_MAGIC:
            raise NotADatabase(
                f"{path} is not an SQLite database",
                hint="pass a new file name, or a database virt wrote; virt left this one untouched",
            )
        return
    if not create:
        raise StoreError(f"{path} does not exist", hint="record into it first with virt record")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreReadOnly(
            f"cannot create folder {path.parent}: {e.strerror}", hint=_READ_ONLY_HINT
        ) from e
    _create_private(path)


def _create_private(path: Path) -> None:
    """Create `path` empty with mode 0600: recordings hold personal data even when redacted.
    SQLite gives the -wal, -shm and -journal files it makes the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # made meanwhile by another process: its mode stands
    except OSError as e:
        raise StoreReadOnly(f"cannot write to {path}: {e.strerror}", hint=_READ_ONLY_HINT) from e


def _translate(e: sqlite3.DatabaseError, path: Path) -> StoreError:
    msg = str(e)
    if "readonly" in msg or "read-only" in msg or "unable to open" in msg:
        return StoreReadOnly(f"cannot write to {path}: {msg}", hint=_READ_ONLY_HINT)
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return NotADatabase(
            f"{path} is damaged or not an SQLite database: {msg}",
            hint="restore it from a copy, or record into a new file; virt left this one untouched",
        )
    if "disk is full" in msg or "disk I/O" in msg:
        return StoreError(f"cannot write to {path}: {msg}", hint="free some disk space")
    return StoreError(f"{path}: {msg}")
