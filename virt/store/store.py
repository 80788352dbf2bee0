"""Store: opens a recordings database (creating and migrating it) and writes to it."""

from __future__ import annotations

import contextlib
import hashlib
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Self

import sqlite_utils

from virt.errors import NotADatabase, SchemaTooNew, StoreError, StoreReadOnly
from virt.model import Interaction, Keys
from virt.store import tables
from virt.store.connection import READ_ONLY_HINT, check_file, connect, translate
from virt.store.reads import Reads
from virt.store.tables import SCHEMA_VERSION


class Store(Reads):
    """A recordings database. Not thread-safe: each thread opens its own Store."""

    def __init__(self, db: sqlite_utils.Database, path: Path, readonly: bool) -> None:
        self.db = db
        self.path = path
        self.readonly = readonly

    @classmethod
    def open(
        cls, path: Path, *, readonly: bool = False, create: bool = True, immutable: bool = False
    ) -> Self:
        """Open `path`, creating it and its folder when missing if `create` (and not `readonly`).
        `immutable` (with `readonly`) promises that nothing writes the file meanwhile.

        Raises a StoreError subclass naming the problem; never modifies a file it refuses.
        """
        path = Path(path)
        check_file(path, create=create and not readonly)
        conn: sqlite3.Connection | None = None
        try:
            conn = connect(path, readonly, immutable)
            db = sqlite_utils.Database(conn)
            db.execute("PRAGMA busy_timeout = 30000")
            version = int(db.execute("PRAGMA user_version").fetchone()[0])
            names = set(db.table_names())
        except sqlite3.DatabaseError as e:
            if conn is not None:
                conn.close()  # an open handle would keep -wal/-shm files and the mount busy
            raise translate(e, path) from e
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
                # an index that only speeds reads up: made where missing, whatever the version
                self.db.execute(tables.ORIGIN_INDEX)
        except sqlite3.DatabaseError as e:
            raise translate(e, self.path) from e

    def close(self) -> None:
        self.db.conn.close()

    # writing

    def insert_many(self, batch: Sequence[tuple[Interaction, str | Keys]]) -> list[tuple[int, int]]:
        """Write `(interaction, exact_key)` pairs in one transaction; returns (id, seq) for each.

        Each interaction's seq is set to the next number in its recording session.
        """
        if self.readonly:
            raise StoreReadOnly(f"{self.path} is open read-only", hint=READ_ONLY_HINT)
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
            raise translate(e, self.path) from e
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

    def set_tags(self, id: int, tags: Iterable[str]) -> None:
        self._writable()
        with self._transaction() as conn:
            conn.execute("DELETE FROM tags WHERE interaction_id = ?", (id,))
            conn.executemany(
                "INSERT OR IGNORE INTO tags (interaction_id, tag) VALUES (?, ?)",
                [(id, t) for t in tags],
            )

    def journal(self, rows: Sequence[tables.JournalRow]) -> None:
        """Append served requests to the persisted journal."""
        self._writable()
        with self._transaction() as conn:
            conn.executemany(tables.JOURNAL_INSERT, [tables.journal_values(r) for r in rows])

    def set_keys(self, pairs: Sequence[tuple[int, Keys]]) -> None:
        """Store the keys of existing interactions: exact, canonical and route."""
        self._writable()
        with self._transaction() as conn:
            conn.executemany(
                "UPDATE interactions SET exact_key = ?, canonical_key = ?, route_key = ? "
                "WHERE id = ?",
                [(keys.exact, keys.canonical, keys.route, id) for id, keys in pairs],
            )

    def add_document(self, kind: str, name: str, content: bytes) -> int:
        """Keep an API description (`kind` "openapi") beside the recordings; returns its id.
        The same content under the same name is kept once: importing a file twice adds nothing."""
        self._writable()
        digest = hashlib.sha256(content).hexdigest()
        added = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        with self._transaction() as conn:
            row = conn.execute(
                "SELECT id FROM documents WHERE kind = ? AND name = ? AND sha256 = ?",
                (kind, name, digest),
            ).fetchone()
            if row is not None:
                return int(row[0])
            cur = conn.execute(
                "INSERT INTO documents (kind, name, sha256, content, added_at) "
                "VALUES (?, ?, ?, ?, ?)",
                (kind, name, digest, content, added),
            )
            return int(cur.lastrowid or 0)

    def _writable(self) -> None:
        if self.readonly:
            raise StoreReadOnly(f"{self.path} is open read-only", hint=READ_ONLY_HINT)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.db.conn
        try:
            with conn:
                conn.execute("BEGIN IMMEDIATE")
                yield conn
        except sqlite3.DatabaseError as e:
            raise translate(e, self.path) from e
