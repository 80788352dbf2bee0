"""Scoring: how close a recorded request is to a sent one, field by field, and why.

Fields fall in four groups (path identifiers, query, headers, body). Within a group, each field
earns 1 when both requests carry the same value, 0.9 when both carry different values of one
generated kind (two uuids, two timestamps, two nonces), and 0 otherwise. A group's similarity is its
mean; the score is the weighted mean of the groups present. Headers the sent request adds to
the recorded ones do not count: clients add their own. Volatile headers, signing query
parameters, fields learned as volatile and fields the rules ignore take no part. Required fields
and route conditions are hard conditions: a recording that fails one is no candidate at all.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from virt.match.caps import FIELDS_SHOWN, VALUE_SHOWN, first, shorten
from virt.match.rules import GROUPS, BodyMode, FieldRef, Policy
from virt.model import Request
from virt.normalize.canonical import NOT_JSON, json_form
from virt.normalize.fields import (
    MAX_FIELDS_BODY,
    OPAQUE_BODY,
    OPERATION_HEADERS,
    PAGING_QUERY,
    Fields,
    fields,
    generated_kind,
    is_volatile,
)

_OPERATION_NAMES = tuple(f"header:{h}" for h in OPERATION_HEADERS)
GENERATED_CREDIT = 0.9
"""Credit for two different values of the same generated kind (two uuids, two timestamps)."""


@functools.lru_cache(maxsize=1 << 16)
def group_of(name: str) -> str:
    """The scoring group of a field name."""
    if name.startswith("path["):
        return "path"
    if name.startswith("query:"):
        return "query"
    if name.startswith("header:"):
        return "headers"
    return "body"


def shown(score: float, places: int) -> float:
    """`score` rounded to `places` decimals for people to read, but never up to 1: a score of
    1 says the request is the same as the recording in every field that counts."""
    out = round(score, places)
    if out >= 1 > score:
        return round(1 - 10.0**-places, places)
    return out


@dataclass(frozen=True, slots=True)
class Parts:
    """What scoring needs of a side's field names, worked out once per side: a recording is
    compared with every unrecorded request on its route."""

    grouped: Mapping[str, tuple[str, ...]]
    """The names by scoring group, in the order of the fields."""
    volatile: frozenset[str]
    """The names that never count by default (is_volatile)."""
    paging: frozenset[str]
    """The paging query fields (PAGING_QUERY)."""
    operation: tuple[str | None, ...]
    """The values of the operation headers (_OPERATION_NAMES), None where absent: two sides
    of different operations differ here, compared at once."""

    @classmethod
    def of(cls, fields: Fields) -> Parts:
        grouped: dict[str, list[str]] = {}
        volatile, paging = [], []
        for name in fields:
            grouped.setdefault(group_of(name), []).append(name)
            if is_volatile(name):
                volatile.append(name)
            if name.startswith("query:") and name[6:].lower() in PAGING_QUERY:
                paging.append(name)
        return cls(
            {g: tuple(names) for g, names in grouped.items()},
            frozenset(volatile),
            frozenset(paging),
            tuple(fields.get(n) for n in _OPERATION_NAMES),
        )


@dataclass(frozen=True, slots=True)
class Side:
    """One request as scoring sees it: its fields, and its JSON body data for JSONPath rules."""

    fields: Fields
    data: Any = NOT_JSON
    paths: tuple[str, ...] | None = None
    """The names of the path fields, when worked out already (Side.of does)."""
    _parts: Parts | None = field(default=None, compare=False, repr=False)
    """Parts, once the side has been compared (a side only looked up by key never is)."""

    @property
    def parts(self) -> Parts:
        parts = self._parts
        if parts is None:
            parts = Parts.of(self.fields)
            object.__setattr__(self, "_parts", parts)  # a cache, not a change: fields are fixed
        return parts

    @classmethod
    def of(cls, request: Request) -> Side:
        """`request`'s fields, and its JSON data unless the body is compared whole."""
        compared_whole = len(request.body) > MAX_FIELDS_BODY
        found = fields(request)
        paths = tuple(n for n in found if n.startswith("path["))
        return cls(found, NOT_JSON if compared_whole else json_form(request), paths)

    def path_names(self) -> tuple[str, ...]:
        if self.paths is not None:
            return self.paths
        return tuple(n for n in self.fields if n.startswith("path["))


@dataclass(frozen=True, slots=True)
class Comparison:
    """The outcome of comparing a sent request with one recording."""

    score: float
    groups: Mapping[str, float] = field(default_factory=dict)
    """Similarity per group present, 0 to 1."""
    differs: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)
    """The first FIELDS_SHOWN fields that count and differ: name -> (sent, recorded), long
    values shortened (see caps.shorten); None where absent."""
    ignored: tuple[str, ...] = ()
    """The first FIELDS_SHOWN fields (by name) that took no part by rule or because they were
    learned as volatile."""
    failed: str | None = None
    """The hard condition that ruled the recording out, if any."""
    differing: int = 0
    """How many fields differ in all, `differs` holding the first of them."""
    ignored_total: int = 0
    """How many fields took no part in all, `ignored` naming the first of them."""
    partial: bool = False
    """Scored only until it was sure to stay under the floor: `score` is an upper bound."""

    def as_dict(self) -> dict[str, Any]:
        """For the journal and the miss report; `truncated` says when fields were left out."""
        out: dict[str, Any] = {
            "score": shown(self.score, 4),
            "groups": {g: shown(self.groups[g], 4) for g in GROUPS if g in self.groups},
            "differs": {
                name: {"sent": s, "recorded": r} for name, (s, r) in sorted(self.differs.items())
            },
        }
        if self.ignored:
            out["ignored"] = list(self.ignored)
        if self.differing > len(self.differs):
            out["differs_total"] = self.differing
        if self.ignored_total > len(self.ignored):
            out["ignored_total"] = self.ignored_total
        if "differs_total" in out or "ignored_total" in out:
            out["truncated"] = True
        if self.failed:
            out["failed"] = self.failed
        return out


def compare(
    sent: Side,
    recorded: Side,
    policy: Policy,
    learned: Collection[str] = (),
    floor: float | None = None,
) -> Comparison:
    """Score `recorded` against `sent` under `policy`, with `learned` volatile field names.

    With a `floor`, scoring stops as soon as the score is known to stay below it: the result
    is then `partial`, its score an upper bound, its groups and differences those compared."""
    a, b = sent.fields, recorded.fields
    mine, theirs = sent.parts, recorded.parts
    if mine.operation != theirs.operation:
        for name in _OPERATION_NAMES:
            if a.get(name) != b.get(name):
                return Comparison(0.0, failed=f"{name}: another operation")
    for ref in policy.require:
        required = set(_names(ref, sent)) | set(_names(ref, recorded))
        if not required:
            return Comparison(0.0, failed=f"require {ref.text}: absent")
        for name in sorted(required):
            if a.get(name) != b.get(name):
                return Comparison(0.0, failed=f"require {ref.text}: differs at {name}")
    for condition in policy.conditions:
        sent_value = _value(condition.ref, sent)
        if not condition.holds(sent_value, _value(condition.ref, recorded)):
            return Comparison(0.0, failed=f"match {condition.ref.text}: {_short(sent_value)}")
    skip = ignored_names(sent, recorded, policy, learned)
    if mine.paging or theirs.paging:
        for name in sorted(mine.paging | theirs.paging):
            if name not in skip and a.get(name) != b.get(name):
                return Comparison(0.0, failed=f"{name}: another page")
    if policy.body is BodyMode.EXACT and any(
        a.get(n) != b.get(n)
        for n in {*theirs.grouped.get("body", ()), *mine.grouped.get("body", ())}
        if n not in skip
    ):
        return Comparison(0.0, failed="body: not the recorded body (rule body = exact)")
    if policy.body is BodyMode.PARTIAL and any(
        a.get(n) != b.get(n) for n in theirs.grouped.get("body", ()) if n not in skip
    ):
        return Comparison(0.0, failed="body: lacks recorded fields (rule body = partial)")
    differs: dict[str, tuple[str | None, str | None]] = {}
    differing = 0
    body_counts = policy.body is not BodyMode.IGNORE
    by_group: dict[str, tuple[str, ...]] = {}
    for group, recorded_names in theirs.grouped.items():
        if not body_counts and group == "body":
            continue
        kept = tuple(n for n in recorded_names if n not in skip) if skip else recorded_names
        if kept:
            by_group[group] = kept
    # what the sent request adds counts against it, except headers (clients add their own)
    # and, under body = partial, body fields
    extra_body = body_counts and policy.body is not BodyMode.PARTIAL
    for group, sent_names in mine.grouped.items():
        if group == "headers" or (group == "body" and not extra_body):
            continue
        extra = tuple(n for n in sent_names if n not in b and n not in skip)
        if extra:
            by_group[group] = by_group.get(group, ()) + extra
    weights = policy.weights
    # the heaviest groups first: with a floor, the rest are not compared once even their all
    # being equal could not lift the score to it
    order = [g for g in _heaviest_first(weights) if g in by_group]
    remaining = 0.0
    for group in order:
        remaining += weights.get(group, 0.0)
    done_credit = done_weight = 0.0
    totals: dict[str, float] = {}
    for group in order:
        credits = 0.0
        compared = by_group[group]
        for name in compared:
            sent_value, recorded_value = a.get(name), b.get(name)
            if sent_value == recorded_value:
                credits += 1.0
                continue
            # a comparison keeps the first differing fields, shortened, and counts the rest:
            # 100,000 differing keys must not cost 100,000 entries per candidate (#13)
            differing += 1
            if len(differs) < FIELDS_SHOWN:
                # shorten's own test, inline: this runs for the first differing fields of
                # every candidate, and most values are short
                differs[name] = (
                    sent_value
                    if sent_value is None or len(sent_value) <= VALUE_SHOWN
                    else shorten(sent_value),
                    recorded_value
                    if recorded_value is None or len(recorded_value) <= VALUE_SHOWN
                    else shorten(recorded_value),
                )
            # two digests of opaque bodies look alike (hex) but say only that the bodies
            # differ: no credit, or a different body would pass for drift
            if (
                group != "path"
                and name != OPAQUE_BODY
                and sent_value is not None
                and recorded_value is not None
                and (kind := generated_kind(sent_value)) is not None
                and kind == generated_kind(recorded_value)
            ):
                credits += GENERATED_CREDIT
        totals[group] = credits / len(compared)
        weight = weights.get(group, 0.0)
        done_credit += weight * totals[group]
        done_weight += weight
        remaining -= weight
        if floor is not None and remaining > 0:
            bound = (done_credit + remaining) / (done_weight + remaining)
            if bound < floor:
                groups = {g: totals[g] for g in GROUPS if g in totals}
                return Comparison(bound, groups, differs, (), None, differing, 0, partial=True)
    # in a fixed order: the names came from a set, whose order varies between processes
    groups = {g: totals[g] for g in GROUPS if g in totals}
    weight = sum(weights.get(g, 0.0) for g in groups)
    score = sum(weights.get(g, 0.0) * s for g, s in groups.items()) / weight if weight else 1.0
    # the volatile headers and signing parameters that never count go unsaid (docs list them)
    ignored, ignored_total = first(
        sorted(n for n in skip if not is_volatile(n) and (n in a or n in b))
    )
    return Comparison(score, groups, differs, tuple(ignored), None, differing, ignored_total)


_ORDERS: dict[int, tuple[Mapping[str, float], tuple[str, ...]]] = {}
"""The scoring groups heaviest first, per weights mapping (by identity: the default weights
are one mapping for every request)."""


def _heaviest_first(weights: Mapping[str, float]) -> tuple[str, ...]:
    found = _ORDERS.get(id(weights))
    if found is not None and found[0] is weights:
        return found[1]
    order = tuple(sorted(GROUPS, key=lambda g: (-weights.get(g, 0.0), GROUPS.index(g))))
    if len(_ORDERS) >= 256:  # a route's rule makes new weights per request: keep a few
        _ORDERS.clear()
    _ORDERS[id(weights)] = (weights, order)
    return order


def path_bound(sent: Side, policy: Policy) -> Callable[[Side], float]:
    """For one sent request, a function giving an upper bound of
    `compare(sent, recorded, policy, ...).score` from the path fields alone (those of `sent`
    and the recording's own): every other group is taken as equal and present.
    Identifiers in the path are never volatile nor learned, so with no ignore rule the path
    group's score is exact, and a recording of another id is known to lose without scoring
    its query, headers and body. The bound is 1.0 when nothing can be said cheaply. What does
    not depend on the recording is worked out once: a request for an id nobody recorded is
    bounded against every recording of its route."""
    weight = policy.weights.get("path", 0.0)
    total = sum(policy.weights.get(g, 0.0) for g in GROUPS)
    if policy.ignore or not total:
        return _no_bound  # an ignore rule may drop path fields: no cheap bound
    a = sent.fields
    mine = sent.path_names()
    mine_set = frozenset(mine)

    def bound(recorded: Side) -> float:
        b = recorded.fields
        theirs = recorded.path_names()
        names: Collection[str] = mine if theirs == mine else mine_set.union(theirs)
        if not names:
            return 1.0
        path = sum(a.get(n) == b.get(n) for n in names) / len(names)
        return 1.0 - weight * (1.0 - path) / total

    return bound


def _no_bound(recorded: Side) -> float:
    return 1.0


def ignored_names(
    sent: Side, recorded: Side, policy: Policy, learned: Collection[str] = ()
) -> frozenset[str]:
    """The field names that take no part: volatile by default, learned, or ignored by rule."""
    mine, theirs = sent.parts.volatile, recorded.parts.volatile
    volatile = mine | theirs if mine and theirs else mine or theirs
    if not learned and not policy.ignore:
        return volatile
    names = set(volatile)
    names.update(n for n in learned if n in sent.fields or n in recorded.fields)
    for ref in policy.ignore:
        names.update(_names(ref, sent))
        names.update(_names(ref, recorded))
    return frozenset(names)


def signature(side: Side, skip: Collection[str]) -> str:
    """A digest of the fields that count: recordings with equal signatures are one group,
    whose responses a repeated request walks in recorded order."""
    h = hashlib.sha256()
    for name in sorted(side.fields):
        if name not in skip:
            h.update(f"{name}\0{side.fields[name]}\0".encode("utf-8", "surrogateescape"))
    return h.hexdigest()[:24]


def _names(ref: FieldRef, side: Side) -> list[str]:
    return ref.names(side.fields, side.data)


def _value(ref: FieldRef, side: Side) -> str | None:
    names = sorted(_names(ref, side))
    if not names:
        return None
    if len(names) == 1:
        return side.fields[names[0]]
    return "\x1f".join(f"{n}={side.fields[n]}" for n in names)


def body_of(fields: Fields) -> list[str]:
    """The body fields of a request's fields."""
    return [n for n in fields if group_of(n) == "body"]


def _short(value: str | None) -> str | None:
    return None if value is None else shorten(value)
