"""Learning volatility: which fields of a route change on every call and choose nothing.

Scoring leaves such fields out (see virt.match.score); this is how a route's cache learns them
from its recordings, once per route, bounded so that a score of 1 still means the same request.
"""

from __future__ import annotations

import hashlib
import itertools
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass

import orjson

from virt.match.score import Side, body_of
from virt.model import Response
from virt.model import header as first_header
from virt.normalize.fields import (
    MAX_BODY_FIELDS,
    MAX_FIELDS_BODY,
    OPAQUE_BODY,
    generated_kind,
    is_volatile,
    json_leaves,
)

LEARN_SAMPLE = 64
"""Recordings per route examined when learning which fields are volatile."""
ECHO_SEARCH = 256 * 1024
"""Bytes of a recorded answer searched for the values of its request, when learning."""


def learn_volatile(
    sides: Sequence[Side], response: Callable[[int], Response | None]
) -> frozenset[str]:
    """Fields that differ across otherwise equal recorded requests with generated-looking
    values (uuids, timestamps, nonces) while the answers stay alike: they change on every
    call and choose nothing, so they never count. `response(i)` is the recorded response to
    `sides[i]`, read only for recordings that could teach something.

    Bounded so that a score of 1 still means the same request in every field that counts:
    - a pair teaches only when its two answers are alike (see `answer_shape`) and neither
      repeats the values that differ: otherwise the field may be what chose the answer (two
      fetches of different git objects, two lookups of different digests);
    - path identifiers are never learned: a different id names a different resource;
    - the digest of a body compared whole is never learned: it says only that bodies differ;
    - a body is never learned whole: when every body field of a recording would be learned,
      none of its body fields is.
    """
    learned: set[str] = set()
    sample = sides[:LEARN_SAMPLE]
    answers: dict[int, _Answer | None] = {}
    for (i, x), (j, y) in itertools.combinations(enumerate(sample), 2):
        a, b = x.fields, y.fields
        diff = [n for n in a.keys() | b.keys() if a.get(n) != b.get(n) and not is_volatile(n)]
        if not diff or any(n.startswith("path[") or n == OPAQUE_BODY for n in diff):
            continue
        if learned.issuperset(diff):
            continue
        if not all(
            (va := a.get(n)) is not None
            and (vb := b.get(n)) is not None
            and (kind := generated_kind(va)) is not None
            and kind == generated_kind(vb)
            for n in diff
        ):
            continue
        for k in (i, j):
            if k not in answers:
                found = response(k)
                answers[k] = None if found is None else _Answer.of(found)
        first_answer, second_answer = answers[i], answers[j]
        if (
            first_answer is not None
            and second_answer is not None
            and first_answer.shape == second_answer.shape
            and not any(first_answer.repeats(a[n]) or second_answer.repeats(b[n]) for n in diff)
        ):
            learned.update(diff)
    for side in sample:
        body = body_of(side.fields)
        if body and learned.issuperset(body):
            learned.difference_update(body)
    return frozenset(learned)


def answer_shape(response: Response) -> Hashable:
    """What a response says, as learning volatility compares it: its status, its media type,
    and for a JSON body the names of its fields (a polled job answers `pending`, then `done`:
    the same kind of answer), for any other body a digest of its bytes."""
    ctype = (first_header(response.headers, "content-type") or "").split(";", 1)[0].strip().lower()
    body = response.body
    shape: object = None
    if len(body) <= MAX_FIELDS_BODY and body.lstrip()[:1] in (b"{", b"["):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            pass
        else:
            leaves = json_leaves(data, limit=MAX_BODY_FIELDS)
            if leaves is not None:
                shape = hashlib.sha256("\0".join(sorted(leaves)).encode()).hexdigest()
    if shape is None:
        shape = hashlib.sha256(body).hexdigest()
    return (response.status, ctype, shape)


@dataclass(frozen=True, slots=True)
class _Answer:
    """A recorded response as learning sees it: its shape, and its text to look for echoes."""

    shape: Hashable
    text: bytes

    @classmethod
    def of(cls, response: Response) -> _Answer:
        heads = "\n".join(v for _, v in response.headers).encode("utf-8", "surrogateescape")
        # only the start of the body is kept, so that learning from 64 large answers holds
        # megabytes, not hundreds: an echo further in goes unseen, and the answers' shapes
        # still have to agree
        return cls(answer_shape(response), heads + b"\n" + response.body[:ECHO_SEARCH])

    def repeats(self, value: str) -> bool:
        """Whether this answer carries `value` (a field's text; JSON strings unquoted)."""
        text = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
        return any(
            part.encode("utf-8", "surrogateescape") in self.text for part in text.split("\x1f")
        )
