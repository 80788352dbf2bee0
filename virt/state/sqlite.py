"""Session state in a small SQLite file that the worker processes of one machine share.

Each call is one statement in autocommit (WAL, synchronous=OFF: the state outlives no crash
worth keeping), so two workers advancing one cursor get consecutive positions. The file keeps
MAX_SESSIONS sessions: every PRUNE_EVERY writes, a process forgets the least recently used
beyond that. It also holds the journal of every worker (ServedLog, `state_served`; see
virt.state.sqlite_journal).
"""

from __future__ import annotations

import logging
import os
import random
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from virt.errors import StateUnavailable
from virt.state.base import (
    MAX_RECORDS,
    MAX_SESSIONS,
    check_record,
    split,
    too_many,
)
from virt.state.sqlite_journal import SqliteServed, iso_now

log = logging.getLogger("virt")

PRUNE_EVERY = 1_000
"""Writes by one process between two looks at the number of sessions in the file."""

BUSY_TIMEOUT_MS = 10_000
"""How long a process waits for another's write before the state counts as unavailable."""

_FIRST_PAUSE = 20e-6
_MAX_PAUSE = 1e-3
"""Seconds between two tries at a busy file: doubling from 20 µs, at most 1 ms."""

T = TypeVar("T")

_MAGIC = b"SQLite format 3\0"
_HINT = "give --state a writable file of its own (sqlite:///PATH), or leave it out"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS state_positions (session TEXT NOT NULL, sequence TEXT NOT NULL, "
    "position INTEGER NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (session, sequence)) "
    "WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS state_records (session TEXT NOT NULL, name TEXT NOT NULL, "
    "value BLOB NOT NULL, used INTEGER NOT NULL, PRIMARY KEY (session, name)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS state_served (id INTEGER PRIMARY KEY AUTOINCREMENT, "
    "match TEXT NOT NULL, entry BLOB NOT NULL)",
    "CREATE INDEX IF NOT EXISTS state_served_match ON state_served (match, id)",
    "CREATE TABLE IF NOT EXISTS state_counts (match TEXT PRIMARY KEY, n INTEGER NOT NULL) "
    "WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS state_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) "
    "WITHOUT ROWID",
)

_ADVANCE = (
    "INSERT INTO state_positions (session, sequence, position, used) VALUES (?, ?, 1, ?) "
    "ON CONFLICT (session, sequence) DO UPDATE SET position = position + 1, used = excluded.used "
    "RETURNING position"
)

_SESSIONS_BY_USE = (
    "SELECT session FROM (SELECT session, max(used) AS used FROM state_positions GROUP BY session "
    "UNION ALL SELECT session, max(used) FROM state_records GROUP BY session) "
    "GROUP BY session ORDER BY max(used) DESC LIMIT -1 OFFSET ?"
)


class SqliteState:
    """Positions and records per session in the SQLite file at `path`, made if missing."""

    def __init__(self, path: Path, max_sessions: int = MAX_SESSIONS) -> None:
        self.path = path
        self.url = f"sqlite://{path}"  # what open_state reads back as the same path
        self.max_sessions = max_sessions
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._writes = 0
        self._warned = False
        self._served: SqliteServed | None = None
        _OPEN.add(self)

        def create(db: sqlite3.Connection) -> None:
            for statement in _SCHEMA:
                db.execute(statement)
            db.execute(
                "INSERT OR IGNORE INTO state_meta (key, value) VALUES ('started', ?)",
                (iso_now(),),
            )

        self.run("open it", create, write=True)

    def advance(self, cursor: str) -> int:
        """The position of `cursor` (`session\\0sequence`), moved one on for the next call."""
        session, sequence = split(cursor)
        values = (session, sequence, time.time_ns())
        rows = self.run("advance a sequence", lambda db: db.execute(_ADVANCE, values).fetchall())
        self._wrote()
        return int(rows[0][0]) - 1

    def put(self, session: str, name: str, value: bytes) -> None:
        check_record(name, value)

        def keep(db: sqlite3.Connection) -> bool:
            (held,) = db.execute(
                "SELECT count(*) FROM state_records WHERE session = ? AND name != ?",
                (session, name),
            ).fetchone()
            if held >= MAX_RECORDS:
                return False
            db.execute(
                "INSERT INTO state_records (session, name, value, used) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (session, name) DO UPDATE SET value = excluded.value, "
                "used = excluded.used",
                (session, name, bytes(value), time.time_ns()),
            )
            return True

        if not self.run("keep a record", keep, write=True):
            raise too_many(session)
        self._wrote()

    def get(self, session: str, name: str) -> bytes | None:
        row = self.run(
            "read a record",
            lambda db: db.execute(
                "SELECT value FROM state_records WHERE session = ? AND name = ?", (session, name)
            ).fetchone(),
        )
        return None if row is None else bytes(row[0])

    def delete(self, session: str, name: str) -> bool:
        gone = self.run(
            "delete a record",
            lambda db: (
                db.execute(
                    "DELETE FROM state_records WHERE session = ? AND name = ?", (session, name)
                ).rowcount
            ),
        )
        return bool(gone)

    def names(self, session: str, prefix: str = "") -> list[str]:
        rows = self.run(
            "list records",
            lambda db: db.execute(
                "SELECT name FROM state_records WHERE session = ? AND substr(name, 1, ?) = ? "
                "ORDER BY name",
                (session, len(prefix), prefix),
            ).fetchall(),
        )
        return [str(name) for (name,) in rows]

    def sessions(self) -> int:
        """How many sessions the file holds state for."""
        (n,) = self.run(
            "count sessions",
            lambda db: db.execute(
                "SELECT count(*) FROM (SELECT session FROM state_positions UNION "
                "SELECT session FROM state_records)"
            ).fetchone(),
        )
        return int(n)

    def clear(self) -> None:
        def forget(db: sqlite3.Connection) -> None:
            db.execute("DELETE FROM state_positions")
            db.execute("DELETE FROM state_records")

        self.run("forget the sessions", forget, write=True)

    def generation(self) -> int:
        row = self.run(
            "read the generation",
            lambda db: db.execute(
                "SELECT CAST(value AS INTEGER) FROM state_meta WHERE key = 'generation'"
            ).fetchone(),
        )
        return 0 if row is None else int(row[0])

    def bump(self) -> int:
        rows = self.run(
            "say the recordings changed",
            lambda db: db.execute(
                "INSERT INTO state_meta (key, value) VALUES ('generation', '1') "
                "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1 "
                "RETURNING CAST(value AS INTEGER)"
            ).fetchall(),
        )
        return int(rows[0][0])

    def served(self) -> SqliteServed:
        """The journal of every process using this file."""
        if self._served is None:
            self._served = SqliteServed(self)
        return self._served

    def close(self) -> None:
        if self._served is not None:
            self._served.close()
        self._disconnect()

    def _disconnect(self) -> None:
        """Close this process's connection; the next call opens another."""
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None

    def prune(self) -> int:
        """Forget the least recently used sessions beyond `max_sessions`; how many."""

        def forget(db: sqlite3.Connection) -> list[str]:
            old = [s for (s,) in db.execute(_SESSIONS_BY_USE, (self.max_sessions,)).fetchall()]
            for table in ("state_positions", "state_records"):
                db.executemany(f"DELETE FROM {table} WHERE session = ?", [(s,) for s in old])
            return old

        old = self.run("forget old sessions", forget, write=True)
        if old and not self._warned:
            self._warned = True
            log.warning(
                "more than %d sessions in %s: forgetting the least recently used ones' place "
                "in their sequences (said once)",
                self.max_sessions,
                self.path,
            )
        return len(old)

    def run(self, doing: str, work: Callable[[sqlite3.Connection], T], write: bool = False) -> T:
        """`work(connection)` under this process's lock, in one write transaction when `write`;
        tried again while another process holds the file's write lock, for BUSY_TIMEOUT_MS.
        SQLite errors become StateUnavailable naming the file and what was being done.

        SQLite's own busy handler sleeps 1 ms, then longer, at each try: on the event loop that
        is a stall of every connection. Short sleeps of our own keep a collision at tens of µs.
        """
        deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
        pause = _FIRST_PAUSE
        with self._lock:
            while True:
                try:
                    db = self._connection()
                    if not write:
                        return work(db)
                    db.execute("BEGIN IMMEDIATE")
                    try:
                        done = work(db)
                        db.execute("COMMIT")
                    except BaseException:
                        if db.in_transaction:
                            db.rollback()
                        raise
                    return done
                except sqlite3.OperationalError as e:
                    if not _busy(e) or time.monotonic() > deadline:
                        raise self._unavailable(doing, e) from e
                except sqlite3.Error as e:
                    raise self._unavailable(doing, e) from e
                time.sleep(pause * (0.5 + random.random()))
                pause = min(pause * 2, _MAX_PAUSE)

    def _unavailable(self, doing: str, e: sqlite3.Error) -> StateUnavailable:
        return StateUnavailable(f"session state file {self.path}: cannot {doing}: {e}", hint=_HINT)

    def _wrote(self) -> None:
        self._writes += 1
        if self._writes % PRUNE_EVERY == 0:
            self.prune()

    def _connection(self) -> sqlite3.Connection:
        """The connection of this process: one inherited over fork is never used."""
        if self._conn is not None and self._pid == os.getpid():
            return self._conn
        _check_file(self.path)
        # timeout 0: a busy file is retried by run(), in short steps
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None, check_same_thread=False)
        try:
            _retry_busy(lambda: conn.execute("PRAGMA journal_mode = WAL"))
            conn.execute("PRAGMA synchronous = OFF")
        except BaseException:
            conn.close()
            raise
        self._conn, self._pid = conn, os.getpid()
        return conn


_OPEN: weakref.WeakSet[SqliteState] = weakref.WeakSet()
"""The states of this process, closed before a fork: SQLite's per-process bookkeeping of a
file's locks and shared memory must not be copied into a child that opens the file again."""


def _before_fork() -> None:
    for state in list(_OPEN):
        state._disconnect()


os.register_at_fork(before=_before_fork)


def _busy(e: sqlite3.OperationalError) -> bool:
    text = str(e)
    return "locked" in text or "busy" in text


def _retry_busy(call: Callable[[], object]) -> None:
    """`call()`, tried again for BUSY_TIMEOUT_MS while the file is busy (connection set-up)."""
    deadline = time.monotonic() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            call()
            return
        except sqlite3.OperationalError as e:
            if not _busy(e) or time.monotonic() > deadline:
                raise
        time.sleep(_MAX_PAUSE)


def _check_file(path: Path) -> None:
    """Refuse a path that is a folder or a file other than SQLite's; make a missing one (and
    its folder) with mode 0600, since session records may hold personal data."""
    if path.is_dir():
        raise StateUnavailable(f"session state file {path} is a directory", hint=_HINT)
    try:
        if path.exists():
            with path.open("rb") as f:
                head = f.read(len(_MAGIC))
            if head and head != _MAGIC:
                raise StateUnavailable(
                    f"session state file {path} is not an SQLite database; virt left it untouched",
                    hint=_HINT,
                )
            return
        path.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # made meanwhile by another worker
    except OSError as e:
        raise StateUnavailable(
            f"session state file {path}: cannot create it: {e.strerror}", hint=_HINT
        ) from e
