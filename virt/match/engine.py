"""Engine: picks the recording for a request and walks recorded sequences of repeated requests."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass
from typing import Any

from virt.match import nearmiss
from virt.match.journal import Journal
from virt.model import Interaction, Request
from virt.normalize import exact_key
from virt.normalize.canonical import canonical_key
from virt.store import Origin, Store


class MatchKind(enum.StrEnum):
    """How a request was answered; sent as X-Virt-Match."""

    EXACT = "exact"
    FUZZY = "fuzzy"
    PASSTHROUGH = "passthrough"
    MISS = "miss"


@dataclass(frozen=True, slots=True)
class Match:
    kind: MatchKind
    key: str
    interaction: Interaction | None = None
    position: int = 0
    """Index of the chosen response within its recorded sequence."""
    score: float = 1.0
    """How close the recorded request is, 1.0 identical in meaning (fuzzy matches)."""

    @property
    def header_value(self) -> str:
        """X-Virt-Match: exact | fuzzy;score=0.93 | passthrough | miss."""
        if self.kind is MatchKind.FUZZY:
            return f"fuzzy;score={self.score:.2f}"
        return self.kind.value


class Engine:
    """Matches requests against one Store.

    Repeated identical requests get the recorded responses in recorded order, then keep getting
    the last one (a polled job: pending, pending, done, done, ...). Lookups are one index seek.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._cursors: dict[str, int] = {}
        self._origins: list[Origin] | None = None
        self._lock = threading.Lock()
        self.journal = Journal()

    def match(self, request: Request, session: str = "") -> Match:
        """The recording for `request`: the same bytes first (exact), else the same meaning
        (fuzzy, score 1.0: JSON key order, form order, signed query parameters, multipart
        boundary). Each is one index seek; nothing scans the recordings.

        Sequences advance per `session` (a client's X-Virt-Session, else its address), so
        parallel test workers polling the same job each see it from the start.
        """
        key = exact_key(request)
        ids = self.store.exact_ids(key)
        if ids:
            return self._walk(MatchKind.EXACT, key, f"{session}\0{key}", ids)
        canonical = canonical_key(request)
        ids = self.store.canonical_ids(canonical)
        if ids:
            return self._walk(MatchKind.FUZZY, key, f"{session}\0~{canonical}", ids)
        return Match(MatchKind.MISS, key)

    def _walk(self, kind: MatchKind, key: str, cursor: str, ids: list[int]) -> Match:
        """The next response of a recorded sequence; after the last, the last again."""
        with self._lock:
            position = self._cursors.get(cursor, 0)
            self._cursors[cursor] = position + 1
        position = min(position, len(ids) - 1)
        interaction = self.store.get(ids[position])
        if interaction is None:  # deleted between the two reads
            return Match(MatchKind.MISS, key)
        return Match(kind, key, interaction, position)

    def backfill(self, batch: int = 1000) -> int:
        """Give canonical keys to interactions stored without one (schema 2 and older);
        returns how many. Needs a writable store."""
        done = 0
        while rows := self.store.without_canonical_key(batch):
            self.store.set_canonical_keys(
                [(i.id, canonical_key(i.request)) for i in rows if i.id is not None]
            )
            done += len(rows)
        return done

    def reset(self) -> None:
        """Restart every recorded sequence from its first response."""
        with self._lock:
            self._cursors.clear()

    def nearest(self, request: Request, limit: int = 3) -> list[dict[str, Any]]:
        """The recordings closest to `request` by method, host and path (an index seek, never a
        scan), each with a field-by-field diff, for the miss report."""
        out = []
        for summary in self.store.nearest(request.method, request.host, request.path, limit):
            recorded = self.store.get(summary.id)
            entry: dict[str, Any] = summary.as_dict()
            if recorded is not None:
                entry["diff"] = nearmiss.diff(request, recorded.request)
            out.append(entry)
        return out

    def origins(self) -> list[Origin]:
        """Recorded upstreams, cached until `learned` is called."""
        if self._origins is None:
            self._origins = self.store.origins()
        return self._origins

    def changed(self) -> None:
        """Recordings were edited, added or removed (admin API, import): drop cached views."""
        self._origins = None

    def learned(self, interaction: Interaction) -> None:
        """Note an interaction written while serving (passthrough), so it can answer from now on."""
        origin = Origin(
            interaction.request.scheme, interaction.request.host, interaction.request.port
        )
        if self._origins is not None and origin not in self._origins:
            self._origins = sorted([*self._origins, origin])
