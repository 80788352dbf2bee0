"""Memo: a bounded map of results worked out lately, for the hot path of replay.

Tests send the same requests again and again; remembering what a request cost (its redaction,
its key, its reply) makes the second time cheap. The oldest entry goes first: a plain dict
would do that in O(n) once many entries were deleted from its front, an OrderedDict in O(1).
"""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most `size` entries; putting one more forgets the oldest."""

    __slots__ = ("_entries", "size")

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._entries: collections.OrderedDict[K, V] = collections.OrderedDict()

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        entries = self._entries
        if len(entries) >= self.size:
            # not contextlib.suppress: this runs for every request seen for the first time
            try:  # noqa: SIM105
                entries.popitem(last=False)
            except KeyError:  # emptied meanwhile by another thread
                pass
        entries[key] = value

    def clear(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)
