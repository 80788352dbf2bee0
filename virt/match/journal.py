"""Journal: the requests served recently, each with how it was matched; bounded in memory."""

from __future__ import annotations

import collections
import itertools
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Any

import orjson

from virt.match.caps import URL_SHOWN, shorten
from virt.model import iso_utc
from virt.state import ServedLog
from virt.store.tables import JOURNAL_COLUMNS, JournalRow


@dataclass(frozen=True, slots=True)
class Served:
    """One answered request."""

    seq: int
    at: str
    door: str
    """"direct" or "proxy"."""
    method: str
    url: str
    match: str
    """exact | fuzzy | passthrough | miss."""
    status: int
    interaction_id: int | None = None
    why: str = ""
    explain: dict[str, Any] | None = None
    """How the match was made: score, field-by-field comparison, echoed fields, rule."""

    def row(self) -> JournalRow:
        """This entry as the journal table keeps it (serve --journal): the fields that have a
        column in it, and the others but `seq` as JSON in `detail`, `explain`'s keys inlined.
        A field added here is persisted and listed by GET /__virt/journal with no other edit."""
        detail: dict[str, Any] = {}
        for name in DETAIL_FIELDS:
            value = getattr(self, name)
            if name == "explain":
                detail.update(value or {})
            elif value:
                detail[name] = value
        return JournalRow(
            **{name: getattr(self, name) for name in JOURNAL_COLUMNS if name != "detail"},
            detail=orjson.dumps(detail).decode() if detail else None,
        )


DETAIL_FIELDS = tuple(
    f.name for f in fields(Served) if f.name not in JOURNAL_COLUMNS and f.name != "seq"
)
"""Served's fields the journal table has no column for: they go in its `detail` JSON."""


class Journal:
    """The last `size` answered requests, and counts by match kind since start.

    Each entry is small whatever the request: URLs and reasons are shortened, and `explain`
    comes capped from Match.explain (see virt.match.caps). With `shared` (the state's ServedLog,
    when workers or replicas serve together) entries and counts are those of every process:
    each is added to it off the request path, and read back from it.
    """

    def __init__(self, size: int = 1000, shared: ServedLog | None = None) -> None:
        self.shared = shared
        self.started = shared.started if shared is not None else iso_utc(time.time())
        self._entries: collections.deque[Served] = collections.deque(maxlen=size)
        self._counts: collections.Counter[str] = collections.Counter()
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self.sink: Callable[[Served], None] | None = None
        """Also hands each entry here (serve --journal persists them), outside the lock."""

    def add(
        self,
        *,
        door: str,
        method: str,
        url: str,
        match: str,
        status: int,
        interaction_id: int | None = None,
        why: str = "",
        explain: dict[str, Any] | None = None,
    ) -> Served:
        with self._lock:
            served = Served(
                seq=next(self._seq),
                at=iso_utc(time.time()),
                door=door,
                method=method,
                url=shorten(url, URL_SHOWN),
                match=match,
                status=status,
                interaction_id=interaction_id,
                why=shorten(why, URL_SHOWN),
                explain=explain or None,
            )
            self._counts[match] += 1
            if self.shared is None:
                self._entries.append(served)
        if self.shared is not None:
            self.shared.add(match, _encode(served))
        if self.sink is not None:
            self.sink(served)
        return served

    def entries(self, *, limit: int = 100, match: str | None = None) -> list[Served]:
        """The newest entries first, at most `limit`, optionally of one match kind."""
        if self.shared is not None:
            return [_decode(seq, entry) for seq, entry in self.shared.newest(limit, match)]
        with self._lock:
            newest = reversed(self._entries)
            chosen = [e for e in newest if match is None or e.match == match]
        return chosen[:limit]

    def counts(self) -> dict[str, int]:
        """Answers by match kind since start: of every worker, with a shared journal."""
        if self.shared is not None:
            return self.shared.counts()
        return self.counts_here()

    def counts_here(self) -> dict[str, int]:
        """Answers by match kind of this process alone since it started, read from memory
        even with a shared journal: for a process's own periodic summary line."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        if self.shared is not None:
            self.shared.clear()
        with self._lock:
            self._entries.clear()


def _encode(served: Served) -> bytes:
    """`served` as a shared journal keeps it; its `seq` is given by the journal."""
    return orjson.dumps({name: getattr(served, name) for name in _ENCODED}, default=str)


def _decode(seq: int, entry: bytes) -> Served:
    return Served(seq=seq, **orjson.loads(entry))


_ENCODED = tuple(f.name for f in fields(Served) if f.name != "seq")
