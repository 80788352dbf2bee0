"""Engine: picks the recording for a request and walks recorded sequences of repeated requests."""

from __future__ import annotations

import enum
import threading
from dataclasses import dataclass

from virt.match.journal import Journal
from virt.model import Interaction, Request
from virt.normalize import exact_key
from virt.store import Origin, Store, Summary


class MatchKind(enum.StrEnum):
    """How a request was answered; sent as X-Virt-Match."""

    EXACT = "exact"
    PASSTHROUGH = "passthrough"
    MISS = "miss"


@dataclass(frozen=True, slots=True)
class Match:
    kind: MatchKind
    key: str
    interaction: Interaction | None = None
    position: int = 0
    """Index of the chosen response within its recorded sequence."""


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

    def match(self, request: Request) -> Match:
        key = exact_key(request)
        ids = self.store.exact_ids(key)
        if not ids:
            return Match(MatchKind.MISS, key)
        with self._lock:
            position = self._cursors.get(key, 0)
            self._cursors[key] = position + 1
        chosen = ids[min(position, len(ids) - 1)]
        interaction = self.store.get(chosen)
        if interaction is None:  # deleted between the two reads
            return Match(MatchKind.MISS, key)
        return Match(MatchKind.EXACT, key, interaction, min(position, len(ids) - 1))

    def reset(self) -> None:
        """Restart every recorded sequence from its first response."""
        with self._lock:
            self._cursors.clear()

    def nearest(self, request: Request, limit: int = 5) -> list[Summary]:
        return self.store.nearest(request.method, request.host, request.path, limit)

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
