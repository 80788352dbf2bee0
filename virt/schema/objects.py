"""Objects: what a client session created through the fallback stage, remembered for it.

Where the recordings show create-then-read (a POST to a collection answered an object with an
id), a create answered by the fallback stage is kept for the session: a GET of its path answers
it, the collection's list includes it, a DELETE forgets it (and a GET after that is the
route's own 404). Records live in the session state (virt.state), so workers sharing a state
file and replicas sharing Redis see the same objects; POST /__virt/reset forgets them all.

A GET, PUT, PATCH or DELETE of a created object reaches the fallback stage anyway (its id was
never recorded), and asks the state there; only a recorded list, answered before that stage,
needs to know whether any session holds objects at all (`Objects.active`).
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from virt.state import MemoryState, SessionState

LOOK_EVERY = 0.5
"""Seconds between two looks at whether another process created an object."""
MARKER_SESSION = "\0virt"
MARKER = "objects"
"""The record by which a process tells the others that sessions hold objects."""
GONE = b"\0gone"
"""The record of an object the session deleted."""
PREFIX = "obj "


def name(origin: str, path: str) -> str:
    """The record name of the object at `path` (its collection's path, a slash, its id)."""
    return f"{PREFIX}{origin}{path.rstrip('/')}"


class Objects:
    """The objects of every session, in one SessionState."""

    def __init__(self, state: SessionState) -> None:
        self.state = state
        self._active = False
        self._shared = not isinstance(state, MemoryState)
        self._next_look = 0.0

    @property
    def active(self) -> bool:
        """Whether some session may hold an object: until one is created (here, or in another
        worker or replica, which says so in the state), no request needs to ask the state for
        one. Another process's first create is seen within LOOK_EVERY seconds."""
        if self._active or not self._shared:
            return self._active
        now = time.monotonic()
        if now >= self._next_look:
            self._next_look = now + LOOK_EVERY
            self._active = self.state.get(MARKER_SESSION, MARKER) is not None
        return self._active

    def put(self, session: str, origin: str, path: str, body: Any) -> None:
        if not self._active and self._shared:
            self.state.put(MARKER_SESSION, MARKER, b"1")
        self._active = True
        self.state.put(session, name(origin, path), orjson.dumps(body))

    def get(self, session: str, origin: str, path: str) -> Any | None:
        """The object at `path`, GONE when the session deleted it, None when it never made one."""
        value = self.state.get(session, name(origin, path))
        if value is None or value == GONE:
            return value
        return orjson.loads(value)

    def delete(self, session: str, origin: str, path: str) -> bool:
        """Forget the object at `path` (a record saying it is gone stays); whether it was there."""
        key = name(origin, path)
        value = self.state.get(session, key)
        if value is None or value == GONE:
            return False
        self.state.put(session, key, GONE)
        return True

    def listed(self, session: str, origin: str, collection: str) -> list[Any]:
        """The objects the session created directly under `collection`, in creation order."""
        prefix = name(origin, collection) + "/"
        out = []
        for key in self.state.names(session, prefix):
            if "/" in key[len(prefix) :]:
                continue
            value = self.state.get(session, key)
            if value is not None and value != GONE:
                out.append(orjson.loads(value))
        return out
