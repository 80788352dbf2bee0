"""The journal of every worker, kept in the session state file (the `state_served` table).

Entries reach the file from a thread, in batches, one write transaction each; the newest
SERVED_KEPT are kept, and counts by match kind since the file was made. It reads and writes
through SqliteState.run, so a busy file is waited for and an error names the file, as for
sessions.
"""

from __future__ import annotations

import collections
import sqlite3
import time
from typing import TYPE_CHECKING

from virt.model import iso_utc
from virt.state.base import SERVED_KEPT
from virt.state.batch import Batcher

if TYPE_CHECKING:
    from virt.state.sqlite import SqliteState


class SqliteServed:
    """The journal of every worker, in the state file: entries are written by a thread in
    batches, the newest SERVED_KEPT kept, counts by match kind kept since the file was made."""

    def __init__(self, state: SqliteState) -> None:
        self._state = state
        self._batcher: Batcher[tuple[str, bytes]] = Batcher(self._write, "virt-state-journal")
        row = state.run(
            "read when the journal started",
            lambda db: db.execute("SELECT value FROM state_meta WHERE key = 'started'").fetchone(),
        )
        self.started = str(row[0]) if row else iso_now()

    def add(self, match: str, entry: bytes) -> None:
        self._batcher.add((match, entry))

    def newest(self, limit: int, match: str | None = None) -> list[tuple[int, bytes]]:
        self._batcher.flush()
        args: tuple[object, ...] = (limit,)
        sql = "SELECT id, entry FROM state_served ORDER BY id DESC LIMIT ?"
        if match is not None:
            sql = "SELECT id, entry FROM state_served WHERE match = ? ORDER BY id DESC LIMIT ?"
            args = (match, limit)
        rows = self._state.run("read the journal", lambda db: db.execute(sql, args).fetchall())
        return [(int(i), bytes(e)) for i, e in rows]

    def counts(self) -> dict[str, int]:
        self._batcher.flush()
        rows = self._state.run(
            "read the journal's counts",
            lambda db: db.execute("SELECT match, n FROM state_counts").fetchall(),
        )
        return {str(m): int(n) for m, n in rows}

    def clear(self) -> None:
        self._batcher.flush()
        self._state.run(
            "clear the journal", lambda db: db.execute("DELETE FROM state_served"), write=True
        )

    def close(self) -> None:
        self._batcher.close()

    def _write(self, batch: list[tuple[str, bytes]]) -> None:
        counts = collections.Counter(match for match, _ in batch)
        kept = [(match, entry) for match, entry in batch if entry]  # b"": counted only

        def append(db: sqlite3.Connection) -> None:
            db.executemany("INSERT INTO state_served (match, entry) VALUES (?, ?)", kept)
            db.executemany(
                "INSERT INTO state_counts (match, n) VALUES (?, ?) "
                "ON CONFLICT (match) DO UPDATE SET n = n + excluded.n",
                counts.items(),
            )
            db.execute(
                "DELETE FROM state_served WHERE id <= (SELECT max(id) FROM state_served) - ?",
                (SERVED_KEPT,),
            )

        self._state.run("write the journal", append, write=True)


def iso_now() -> str:
    """Now, as the journal writes when it started."""
    return iso_utc(time.time())
