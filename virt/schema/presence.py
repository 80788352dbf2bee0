"""Presence: fields of an answer that come and go with fields of the request.

Auth0's signup answers `email` and `email_verified` exactly when the request sent an `email`,
and `phone_number` and `phone_verified` exactly when it sent a `phone_number`. Where every
recording of a route with the template's status agrees on such a tie, and shows it at least
MIN_EACH_WAY times with the request field and as many times without, a made-up answer follows
it: a top-level field tied to a request field the request does not send is left out, and one
tied to a field it sends is put in, with the value of the nearest recording that had it (fill
then puts the request's own value where the recordings echo it).

A tie is about top-level fields only: query parameters, form fields and the keys of a JSON
object body on one side, the keys of a JSON object answer on the other. An answer field tied
to several request fields (always sent together) is followed only when the request sends all
of them or none.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from virt.model import Request, header
from virt.normalize.uri import pairs
from virt.schema import leaves
from virt.schema.book import Recorded

MIN_EACH_WAY = 2
"""Recordings a tie needs with its request field sent, and as many without: one of each could
be a coincidence."""


@dataclass(frozen=True, slots=True)
class Tie:
    """The answer's top-level `key` is there exactly when the request sends all of `fields`."""

    key: str
    fields: tuple[str, ...]


def sent(request: Request) -> frozenset[str]:
    """The request's top-level fields: `query:NAME`, `form:NAME`, `body:KEY`."""
    out = {f"query:{name}" for name, _ in pairs(request.query)} if request.query else set()
    if not request.body:
        return frozenset(out)
    ctype = (header(request.headers, "content-type") or "").lower()
    if "x-www-form-urlencoded" in ctype:
        with contextlib.suppress(UnicodeDecodeError):  # a form that is not text has no fields
            out.update(f"form:{name}" for name, _ in pairs(request.body.decode("utf-8")))
        return frozenset(out)
    data = leaves.body_data(request)
    if isinstance(data, dict):
        out.update(f"body:{key}" for key in data)
    return frozenset(out)


def learn(recordings: Sequence[Recorded], status: int) -> list[Tie]:
    """The ties every recording of `status` with an object answer agrees on, in key order."""
    found = [r for r in recordings if r.status == status and isinstance(r.body, dict)]
    if len(found) < 2 * MIN_EACH_WAY:
        return []
    asked = [sent(r.interaction.request) for r in found]
    keys = [frozenset(r.body) for r in found]
    optional_keys = frozenset.union(*keys) - frozenset.intersection(*keys)
    optional_fields = frozenset.union(*asked) - frozenset.intersection(*asked)
    ties = []
    for key in sorted(optional_keys):
        has = [key in k for k in keys]
        if min(sum(has), len(has) - sum(has)) < MIN_EACH_WAY:
            continue
        fields = tuple(
            sorted(
                f
                for f in optional_fields
                if all((f in a) == h for a, h in zip(asked, has, strict=True))
            )
        )
        if fields:
            ties.append(Tie(key, fields))
    return ties


def follow(
    body: Any,
    ties: Sequence[Tie],
    request: Request,
    answers: Sequence[Recorded],
    ranked: Sequence[int],
) -> tuple[Any, list[str]]:
    """`body` (not changed) with its tied fields put in or left out as `request` asks; also
    what changed, as `+key` and `-key`. A field put in takes its value from the nearest of
    `answers` that has it: the first in `ranked` (ids, nearest first), else the first recorded."""
    if not ties or not isinstance(body, dict):
        return body, []
    asked = sent(request)
    out = dict(body)
    changed = []
    for tie in ties:
        there = [f in asked for f in tie.fields]
        if any(there) and not all(there):
            continue  # the request sends some of the fields it goes with: nothing says which
        if all(there) and tie.key not in out:
            donor = _donor(tie.key, answers, ranked)
            if donor is not None:
                out[tie.key] = copy.deepcopy(donor.body[tie.key])
                changed.append(f"+{tie.key}")
        elif not any(there) and tie.key in out:
            del out[tie.key]
            changed.append(f"-{tie.key}")
    return (out, changed) if changed else (body, [])


def _donor(key: str, answers: Sequence[Recorded], ranked: Sequence[int]) -> Recorded | None:
    """The nearest of `answers` whose object has `key`."""
    having = [r for r in answers if isinstance(r.body, dict) and key in r.body]
    if not having:
        return None
    order = {id: n for n, id in enumerate(ranked)}
    return min(having, key=lambda r: (order.get(r.id, len(order)), r.id))
