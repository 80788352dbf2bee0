"""Per-session state shared by the processes that serve one set of recordings: where each
session stands in each recorded sequence, its records, and the journal of every worker.

`open_state(url)` picks the backend: memory (one process), an SQLite file (workers of one
machine), Redis (replicas on several machines).
"""

from virt.state.base import MAX_SESSIONS, ServedLog, SessionState
from virt.state.memory import MemoryState
from virt.state.url import open_state

__all__ = ["MAX_SESSIONS", "MemoryState", "ServedLog", "SessionState", "open_state"]
