"""Match: what the engine found for a request, as the doors, the journal and the miss report
read it (the kind sent as X-Virt-Match, the recording, the score and its explanation)."""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from virt.match.caps import FIELDS_SHOWN, first
from virt.match.score import Comparison, shown
from virt.model import Interaction, Request
from virt.normalize.fields import Fields


class MatchKind(enum.StrEnum):
    """How a request was answered; sent as X-Virt-Match."""

    EXACT = "exact"
    FUZZY = "fuzzy"
    PATTERN = "pattern"
    FALLBACK = "fallback"
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
    comparison: Comparison | None = None
    """The field-by-field comparison behind a scored match (or the best rejected candidate)."""
    echoed: tuple[str, ...] = ()
    """Request fields whose new values replaced the recorded ones in the response."""
    rule: str | None = None
    """The route rule that applied, if any."""
    fallback: dict[str, Any] | None = None
    """How the fallback stage made its answer, or why it made none (journal)."""
    source: str = ""
    """What a fallback answer was made from: template, openapi or schema."""
    nearest: tuple[int, ...] = ()
    """A miss's scored candidates, best first: the fallback stage's templates."""

    @property
    def header_value(self) -> str:
        """X-Virt-Match: exact | fuzzy;score=0.93 | fallback;source=template | miss."""
        if self.kind is MatchKind.FUZZY:
            return f"fuzzy;score={shown(self.score, 2):.2f}"
        if self.kind is MatchKind.FALLBACK:
            return f"fallback;source={self.source}"
        return self.kind.value

    def explain(self) -> dict[str, Any]:
        """What the journal keeps about how this match was made."""
        out: dict[str, Any] = {}
        if self.kind is MatchKind.FUZZY:
            out["score"] = shown(self.score, 4)
        if self.comparison is not None:
            out["comparison"] = self.comparison.as_dict()
        if self.echoed:
            out["echoed"], total = first(self.echoed)
            if total > FIELDS_SHOWN:
                out["echoed_total"], out["truncated"] = total, True
        if self.rule:
            out["rule"] = self.rule
        if self.fallback is not None:
            out["fallback"] = self.fallback
        if self.kind is MatchKind.MISS and self.nearest:
            # the recordings a miss came closest to, best first: what the pytest plugin's report
            # and a reader of the journal look up
            out["nearest"] = list(self.nearest[:NEAREST_SHOWN])
        return out


@dataclass(frozen=True, slots=True)
class Found:
    """What a stage found: the recordings of one sequence, and how the request compares."""

    kind: MatchKind
    cursor: str
    """Names the sequence, per session: requests with the same cursor walk it together."""
    ids: list[int]
    echoable: Callable[[Request], Fields]
    """The request fields that can differ from the recording's at this stage."""
    score: float = 1.0
    comparison: Comparison | None = None
    sent: Fields | None = None
    """The request's `echoable` fields, when the stage parsed them already."""


NEAREST_SHOWN = 3
"""Candidates of a miss the journal names."""
