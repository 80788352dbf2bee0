"""Session state in this process's memory: the default for one process, bounded by sessions."""

from __future__ import annotations

import collections
import logging
import threading
from dataclasses import dataclass, field

from virt.state.base import MAX_RECORDS, MAX_SESSIONS, ServedLog, check_record, split, too_many

log = logging.getLogger("virt")


@dataclass(slots=True)
class _Session:
    positions: dict[str, int] = field(default_factory=dict)
    records: dict[str, bytes] = field(default_factory=dict)


class MemoryState:
    """Positions and records per session. Their number grows with the clients; past
    `max_sessions` the least recently used session is forgotten, and its sequences start again
    from their first response."""

    url = "memory"

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self._sessions: collections.OrderedDict[str, _Session] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._warned = False
        self._generation = 0

    def advance(self, cursor: str) -> int:
        """The position of `cursor` (`session\\0sequence`), moved one on for the next call."""
        session, sequence = split(cursor)
        with self._lock:
            positions = self._session(session).positions
            position = positions.get(sequence, 0)
            positions[sequence] = position + 1
        return position

    def put(self, session: str, name: str, value: bytes) -> None:
        check_record(name, value)
        with self._lock:
            records = self._session(session).records
            if name not in records and len(records) >= MAX_RECORDS:
                raise too_many(session)
            records[name] = bytes(value)

    def get(self, session: str, name: str) -> bytes | None:
        with self._lock:
            kept = self._sessions.get(session)
            return None if kept is None else kept.records.get(name)

    def delete(self, session: str, name: str) -> bool:
        with self._lock:
            kept = self._sessions.get(session)
            return kept is not None and kept.records.pop(name, None) is not None

    def names(self, session: str, prefix: str = "") -> list[str]:
        with self._lock:
            kept = self._sessions.get(session)
            return sorted(n for n in (kept.records if kept else ()) if n.startswith(prefix))

    def generation(self) -> int:
        return self._generation

    def bump(self) -> int:
        with self._lock:
            self._generation += 1
            return self._generation

    def served(self) -> ServedLog | None:
        """None: one process keeps its journal in memory (virt.match.journal)."""
        return None

    def __len__(self) -> int:
        return len(self._sessions)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()

    def close(self) -> None:
        self.clear()

    def _session(self, session: str) -> _Session:
        """`session`'s state, made the most recently used; created (and the least recently
        used one forgotten past the bound) when new. Called with the lock held."""
        kept = self._sessions.get(session)
        if kept is not None:
            self._sessions.move_to_end(session)
            return kept
        kept = self._sessions[session] = _Session()
        if len(self._sessions) > self.max_sessions:
            self._sessions.popitem(last=False)
            if not self._warned:
                self._warned = True
                log.warning(
                    "more than %d sessions: forgetting the least recently used "
                    "one's place in its sequences (said once)",
                    self.max_sessions,
                )
        return kept
