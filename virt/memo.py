"""Memo: a bounded map of results worked out lately, for the hot path of replay.

Tests send the same requests again and again; remembering what a request cost (its redaction,
its key, its reply) makes the second time cheap. The oldest entry goes first: a plain dict
would do that in O(n) once many entries were deleted from its front, an OrderedDict in O(1).

A memo made with `again=True` keeps, once it is full, only what was asked for twice lately.
With more distinct requests than it holds (100,000 recordings asked at random), a memo that
took every result would swap all its entries every `size` requests, for almost no hits, and
its entries, alive for a while and then dropped, are what Python's garbage collector finds
hardest: their deaths offset their births in its allocation count, so the young generation
grows to every entry of the memo before a collection walks it (20 to 40 ms, a stall for every
client).
"""

from __future__ import annotations

import collections
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class Memo(Generic[K, V]):
    """At most `size` entries; putting one more forgets the oldest. With `again`, a full memo
    takes a new key only the second time it is put within the last 4 * `size` new keys."""

    __slots__ = ("_entries", "_seen", "again", "size")

    def __init__(self, size: int = 4096, *, again: bool = False) -> None:
        self.size = size
        self.again = again
        self._entries: collections.OrderedDict[K, V] = collections.OrderedDict()
        self._seen: set[int] = set()
        """Hashes of keys put once while full (ints: nothing for the collector to walk)."""

    def get(self, key: K) -> V | None:
        return self._entries.get(key)

    def put(self, key: K, value: V) -> None:
        entries = self._entries
        if len(entries) >= self.size:
            if self.again and key not in entries:
                seen, h = self._seen, hash(key)
                if h not in seen:  # first time lately: keep only that it was asked
                    if len(seen) >= 4 * self.size:
                        seen.clear()
                    seen.add(h)
                    return
                seen.discard(h)
            # not contextlib.suppress: this runs for every request seen for the first time
            try:  # noqa: SIM105
                entries.popitem(last=False)
            except KeyError:  # emptied meanwhile by another thread
                pass
        entries[key] = value

    def clear(self) -> None:
        self._entries.clear()
        self._seen.clear()

    def __len__(self) -> int:
        return len(self._entries)
