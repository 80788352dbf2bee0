"""Template: which recorded answer of a route a made-up answer is built from.

The answer takes the shape (top-level keys) most of the route's answers have, and among shapes
equally common the one recorded last, the API as it is now; of the answers of that shape, the
nearest recording's (the best-scored candidate of the scored stage). A field one answer had is
no contract, and a field the API added later wins a tie against the answers from before it. A
batch (a JSON array sent) is answered from a batch first.
"""

from __future__ import annotations

import collections
import datetime
from collections.abc import Sequence
from typing import Any

from virt.memo import Memo
from virt.model import Request
from virt.schema import leaves
from virt.schema.book import Recorded


def choose(answers: Sequence[Recorded], request: Request, ranked: Sequence[int]) -> Recorded:
    """The template among `answers` (not empty) for `request`, nearest recordings first in
    `ranked`."""
    order = {id: i for i, id in enumerate(ranked)}
    unranked = len(order)
    kind = _kind(leaves.body_data(request))
    best = min(
        _standing(answers),
        key=lambda s: (s[0] != kind, s[1], s[2], order.get(s[3].id, unranked), s[3].id),
    )
    return best[3]


_Standing = tuple[str, int, float, Recorded]
_standings: Memo[int, tuple[Sequence[Recorded], list[_Standing]]] = Memo(1024)
"""What the choice weighs of each answer that does not depend on the request, per list of a
route's answers (kept while that list is: a route profile holds it)."""


def _standing(answers: Sequence[Recorded]) -> list[_Standing]:
    """Per answer: the kind of request it answered, how common its shape is (negated) and
    when its shape was last recorded (negated), worked out once per list of answers."""
    found = _standings.get(id(answers))
    if found is not None and found[0] is answers:
        return found[1]
    shapes = collections.Counter(shape(r.body) for r in answers)
    latest = _latest(answers)
    out = []
    for r in answers:
        s = shape(r.body)
        out.append((_kind(leaves.body_data(r.interaction.request)), -shapes[s], -latest[s], r))
    _standings.put(id(answers), (answers, out))
    return out


def shape(body: Any) -> frozenset[str] | None:
    """The top-level keys of an object answer; None for any other."""
    return frozenset(body) if isinstance(body, dict) else None


def _latest(answers: Sequence[Recorded]) -> dict[frozenset[str] | None, float]:
    """When each shape was last recorded, as a timestamp (0 for recordings without a time)."""
    out: dict[frozenset[str] | None, float] = {}
    for r in answers:
        key = shape(r.body)
        out[key] = max(out.get(key, 0.0), _when(r.interaction.recorded_at))
    return out


def _when(recorded_at: str) -> float:
    """`recorded_at` (ISO 8601) as a POSIX timestamp; 0 when it is missing or unreadable."""
    try:
        moment = datetime.datetime.fromisoformat(recorded_at)
    except ValueError:
        return 0.0
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    return moment.timestamp()


def _kind(data: Any) -> str:
    """What a request body is, for choosing a template: an object, an array, or other."""
    return "object" if isinstance(data, dict) else "array" if isinstance(data, list) else "other"
