"""Journal: the requests served recently, each with how it was matched; bounded in memory."""

from __future__ import annotations

import collections
import itertools
import logging
import os
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

log = logging.getLogger("virt")


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


@dataclass(frozen=True, slots=True)
class Miss:
    """One distinct miss: its request, how often, why, and the nearest recording."""

    method: str
    url: str
    count: int
    why: str
    nearest: int | None


MISSES_KEPT = 1_000
"""Distinct misses a process keeps for its report at stop; more are counted only."""

SHARE_EVERY_S = 0.25
"""How often a process hands its answers to a shared journal: per request would cost more than
answering (each entry encoded and queued, a row written)."""


class Journal:
    """The last `size` answered requests, and counts by match kind since start.

    Each entry is small whatever the request: URLs and reasons are shortened, and `explain`
    comes capped from Match.explain (see virt.match.caps). With `shared` (the state's ServedLog,
    when workers or replicas serve together) entries and counts are those of every process:
    a thread hands this process's answers to it every SHARE_EVERY_S (the newest `size` of them
    as entries, the others as counts only, since only the newest are kept), and reads come
    back from it.
    """

    def __init__(self, size: int = 1000, shared: ServedLog | None = None) -> None:
        self.shared = shared
        self.started = shared.started if shared is not None else iso_utc(time.time())
        self._entries: collections.deque[Served] = collections.deque(maxlen=size)
        self._counts: collections.Counter[str] = collections.Counter()
        self._misses: dict[tuple[str, str], list[Any]] = {}
        self._misses_untold = 0
        self._seq = itertools.count(1)
        self._lock = threading.Lock()
        self._pending: collections.deque[Served] = collections.deque(maxlen=size)
        """Answers not handed to `shared` yet (the newest `size`)."""
        self._unshared: collections.Counter[str] = collections.Counter()
        """Answers not handed to `shared` yet, by match kind, including those past `size`."""
        self._sharing: tuple[int, threading.Thread] | None = None
        self._last = (0, "")
        """The last millisecond an answer was given in, and its ISO 8601 text."""
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
        now = time.time()
        with self._lock:
            millisecond = int(now * 1000)
            if millisecond != self._last[0]:  # answers within one millisecond share its text
                self._last = (millisecond, iso_utc(now))
            served = Served(
                seq=next(self._seq),
                at=self._last[1],
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
            if match == "miss":
                self._note_miss(served)
            if self.shared is None:
                self._entries.append(served)
            else:
                self._pending.append(served)
                self._unshared[match] += 1
        if self.shared is not None and (
            self._sharing is None or self._sharing[0] != os.getpid()  # a forked copy: no thread
        ):
            self._start_sharing()
        if self.sink is not None:
            self.sink(served)
        return served

    def entries(self, *, limit: int = 100, match: str | None = None) -> list[Served]:
        """The newest entries first, at most `limit`, optionally of one match kind."""
        if self.shared is not None:
            self.share()  # this process's own answers are there too
            return [_decode(seq, entry) for seq, entry in self.shared.newest(limit, match)]
        with self._lock:
            newest = reversed(self._entries)
            chosen = [e for e in newest if match is None or e.match == match]
        return chosen[:limit]

    def counts(self) -> dict[str, int]:
        """Answers by match kind since start: of every worker, with a shared journal."""
        if self.shared is not None:
            self.share()
            return self.shared.counts()
        return self.counts_here()

    def _note_miss(self, served: Served) -> None:
        """Count a miss by method and URL (with the lock held); the first MISSES_KEPT distinct
        ones are kept, the others only counted."""
        key = (served.method, served.url)
        found = self._misses.get(key)
        if found is not None:
            found[0] += 1
        elif len(self._misses) < MISSES_KEPT:
            nearest = (served.explain or {}).get("nearest") or []
            self._misses[key] = [1, served.why, nearest[0] if nearest else None]
        else:
            self._misses_untold += 1

    def misses(self) -> tuple[list[Miss], int]:
        """Every distinct miss this process answered (method and URL), most frequent first,
        with its reason and nearest recording; also how many misses were not kept apart."""
        with self._lock:
            found = [
                Miss(method, url, n, why, nearest)
                for (method, url), (n, why, nearest) in self._misses.items()
            ]
            untold = self._misses_untold
        return sorted(found, key=lambda m: (-m.count, m.method, m.url)), untold

    def counts_here(self) -> dict[str, int]:
        """Answers by match kind of this process alone since it started, read from memory
        even with a shared journal: for a process's own periodic summary line."""
        with self._lock:
            return dict(self._counts)

    def clear(self) -> None:
        if self.shared is not None:
            self.share()
            self.shared.clear()
        with self._lock:
            self._entries.clear()

    def share(self) -> None:
        """Hand the answers since the last call to `shared`: the newest `size` as entries, the
        others counted only (the shared journal keeps the newest `size` of all anyway)."""
        if self.shared is None:
            return
        with self._lock:
            pending, self._pending = self._pending, collections.deque(maxlen=self._pending.maxlen)
            unshared, self._unshared = self._unshared, collections.Counter()
        for served in pending:
            unshared[served.match] -= 1
            self.shared.add(served.match, _encode(served))
        for match, n in unshared.items():
            for _ in range(n):
                self.shared.add(match, b"")  # counted, not kept

    def _start_sharing(self) -> None:
        with self._lock:
            if self._sharing is not None and self._sharing[0] == os.getpid():
                return
            thread = threading.Thread(
                target=self._share_often, name="virt-journal-share", daemon=True
            )
            self._sharing = (os.getpid(), thread)
        thread.start()

    def _share_often(self) -> None:
        while True:
            time.sleep(SHARE_EVERY_S)
            try:
                self.share()
            except Exception:  # the shared log holds what it could not write; keep going
                log.exception("could not hand the journal to the shared state")


def _encode(served: Served) -> bytes:
    """`served` as a shared journal keeps it; its `seq` is given by the journal."""
    return orjson.dumps({name: getattr(served, name) for name in _ENCODED}, default=str)


def _decode(seq: int, entry: bytes) -> Served:
    return Served(seq=seq, **orjson.loads(entry))


_ENCODED = tuple(f.name for f in fields(Served) if f.name != "seq")
