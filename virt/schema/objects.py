"""Objects: what a client session created through the fallback stage, remembered for it.

Where the recordings show create-then-read (a POST to a collection answered an object with an
id), a create answered by the fallback stage is kept for the session: a GET of its path answers
it, the collection's list includes it, a DELETE forgets it (and a GET after that is the
route's own 404). Records live in the session state (virt.state), so workers sharing a state
file and replicas sharing Redis see the same objects; POST /__virt/reset forgets them all.
"""

from __future__ import annotations

from typing import Any

import orjson

from virt.state import SessionState

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
        self.active = False
        """Whether this process created one: until then, no request needs to ask the state."""

    def put(self, session: str, origin: str, path: str, body: Any) -> None:
        self.active = True
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
