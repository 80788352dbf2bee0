"""Where each session is in each recorded sequence, for a bounded number of sessions."""

from __future__ import annotations

import collections
import logging
import threading

MAX_SESSIONS = 10_000
"""Sessions whose sequence positions are kept; the least recently used is forgotten first."""

log = logging.getLogger("virt")


class Cursors:
    """Positions per session and sequence. A session is a client's X-Virt-Session, else its
    address, so their number grows with the clients; past `max_sessions` the least recently
    used session is forgotten, and its sequences start again from their first response."""

    def __init__(self, max_sessions: int = MAX_SESSIONS) -> None:
        self.max_sessions = max_sessions
        self._sessions: collections.OrderedDict[str, dict[str, int]] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._warned = False

    def advance(self, cursor: str) -> int:
        """The position of `cursor` (`session\\0sequence`), moved one on for the next call."""
        session, _, sequence = cursor.partition("\0")
        with self._lock:
            positions = self._sessions.get(session)
            if positions is None:
                positions = self._sessions[session] = {}
                if len(self._sessions) > self.max_sessions:
                    self._sessions.popitem(last=False)
                    if not self._warned:
                        self._warned = True
                        log.warning(
                            "more than %d sessions: forgetting the least recently used "
                            "one's place in its sequences (said once)",
                            self.max_sessions,
                        )
            else:
                self._sessions.move_to_end(session)
            position = positions.get(sequence, 0)
            positions[sequence] = position + 1
        return position

    def __len__(self) -> int:
        return len(self._sessions)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()
