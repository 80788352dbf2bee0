"""Absent: when the recordings show that the object a request names was never there.

The fallback answers an unrecorded id the way the API answered the ids it had: a success made
from a template. That is the general case ("a customer nobody fetched"), and it stays so unless
the recordings give real evidence that this very request would get the API's 404: the route
answered 404 (or 410) only for ids its collection (the list and create answers of the parent
path) never named, and success only for ids it did name; the collection never named the id
asked for, and no recording of its very path answered success. Then the answer is the route's
own recorded 404.

Anything short of that (an id named somewhere, a route with no recorded 404, a 404 for an id
the collection had named, a success for an id from nowhere) leaves the general case alone: a
made-up 404 for an object that exists is as wrong as a made-up object.

A path deleted by a recorded DELETE is not enough on its own: without knowing where in its
session a client stands, a GET of that path may come before the DELETE as well as after it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import orjson

from virt.model import Request
from virt.normalize.canonical import NOT_JSON
from virt.normalize.route import PARAM, route_key
from virt.normalize.uri import path_form
from virt.schema import leaves
from virt.schema.book import LEARNED, Recorded, RouteBook, RouteProfile
from virt.store import Store

NOT_THERE = (404, 410)
"""The statuses that say an object is not there."""
METHODS = frozenset({"GET", "HEAD", "PUT", "PATCH", "DELETE"})
"""The methods that address an object at its path (a POST under it may create one)."""
LOOK = 20
"""Recordings of one path and method read to find a success on it."""
MAX_PARENTS = 10
"""Collections whose answers are read to judge one route's ids."""
MAX_NAMED = 100_000
"""Values kept from a collection's answers: a bounded set, however large the answers."""


@dataclass(frozen=True, slots=True)
class Absent:
    """The recordings that say the object was never there, and the API's own answer for it."""

    evidence: tuple[int, ...]
    """The route's recorded 404s, each for an id its collection never named."""
    recorded: Recorded
    """The route's recorded 404 (or 410) to answer with."""
    was: str
    """The id `recorded` was asked for."""
    asked: str
    """The id asked for now."""

    def explain(self) -> dict[str, Any]:
        why = "the route answered 404 for ids its collection never named, as this one"
        return {"why": why, "evidence": list(self.evidence)}

    def body(self) -> bytes:
        """The recorded 404's body, naming the id asked for where it named its own (Okta's
        "Resource not found: 00Tinvalid1 (Token)"); as recorded when it is not JSON or never
        named it."""
        raw = self.recorded.interaction.response.body
        if self.recorded.body is NOT_JSON or self.was not in raw.decode("utf-8", "replace"):
            return raw
        named = re.compile(rf"(?<![A-Za-z0-9]){re.escape(self.was)}(?![A-Za-z0-9])")
        document = copy.deepcopy(self.recorded.body)
        changed = False
        for path, value in list(leaves.walk(document)):
            if isinstance(value, str) and named.search(value):
                changed |= leaves.put(document, path, named.sub(lambda _: self.asked, value))
        return orjson.dumps(document) if changed else raw


@dataclass(frozen=True, slots=True)
class Evidence:
    """What a route's recordings say about unknown ids, worked out once per profile."""

    position: int
    """The path segment that holds the id."""
    errors: tuple[Recorded, ...]
    """The route's 404 (410) answers, each for an id the collection never named."""
    parents: frozenset[str]
    """The collections (paths) the route's recordings sit under."""
    named: frozenset[str]
    """Every value their success answers hold."""


def absent(store: Store, book: RouteBook, request: Request, profile: RouteProfile) -> Absent | None:
    """Whether the recordings show that the object `request` addresses is not there."""
    if request.method.upper() not in METHODS:
        return None
    return _unknown(store, book, request, profile)


def _unknown(
    store: Store, book: RouteBook, request: Request, profile: RouteProfile
) -> Absent | None:
    """The route's 404 for an id its collection never named, where the route's recordings
    show the API answering so (see Evidence)."""
    evidence = _evidence(book, profile)
    if evidence is None:
        return None
    segments = path_form(request.path).split("/")
    if len(segments) <= evidence.position:
        return None
    parent = "/".join(segments[: evidence.position])
    if parent not in evidence.parents or segments[evidence.position] in evidence.named:
        return None  # a collection nothing recorded, or an id it named
    if _successes(store, request, (request.method.upper(), "GET")):
        return None  # the very path answered success once: the object was there
    first = evidence.errors[0]
    was = path_form(first.interaction.request.path).split("/")[evidence.position]
    ids = tuple(r.id for r in evidence.errors)
    return Absent(ids, first, was, segments[evidence.position])


def _successes(store: Store, request: Request, methods: Iterable[str]) -> list[int]:
    """Ids of the recordings of `request`'s very path, by any of `methods`, that answered
    success, in recorded order."""
    out = []
    for method in dict.fromkeys(methods):
        asked = replace(request, method=method, query="", body=b"")
        for id, _ in store.same_path(route_key(asked), asked, LOOK):
            found = store.get(id)
            if found is not None and 200 <= found.response.status < 300:
                out.append(id)
    return sorted(out)


def _evidence(book: RouteBook, profile: RouteProfile) -> Evidence | None:
    with profile._lock:
        if profile.absent is None:
            profile.absent = _learn(book, profile) or False
        found = profile.absent
    return found if isinstance(found, Evidence) else None


def _learn(book: RouteBook, profile: RouteProfile) -> Evidence | None:
    """The evidence of `profile`'s recordings, or None when they give none."""
    params = [i for i, s in enumerate(profile.template.split("/")) if s in (PARAM, LEARNED)]
    errors = [r for r in profile.recordings if r.status in NOT_THERE]
    if not params or not errors:
        return None
    position = params[-1]
    ids: list[tuple[Recorded, str, str]] = []
    for r in profile.recordings:
        segments = path_form(r.interaction.request.path).split("/")
        if len(segments) <= position:
            return None
        ids.append((r, "/".join(segments[:position]), segments[position]))
    parents = {parent for _, parent, _ in ids}
    if len(parents) > MAX_PARENTS:
        return None
    first = profile.recordings[0].interaction.request
    named: set[str] = set()
    for parent in parents:
        found = _named(book, first, parent)
        if found is None:
            return None  # a collection nothing recorded: no id under it can be judged
        named |= found
    for r, _, id in ids:
        if r.status in NOT_THERE and id in named:
            return None  # a 404 for an id the API had handed out: deleted, not unknown
        if 200 <= r.status < 300 and id not in named:
            return None  # a success for an id from nowhere: any id may be one
    return Evidence(position, tuple(errors), frozenset(parents), frozenset(named))


def _named(book: RouteBook, near: Request, parent: str) -> set[str] | None:
    """Every value in the success answers of the collection at `parent` (its list and its
    creates, with or without a trailing slash); None when nothing of it is recorded."""
    if not parent:
        return None
    found: set[str] = set()
    seen = False
    for method in ("GET", "POST"):
        for path in (parent, parent + "/"):
            asked = Request(method, near.scheme, near.host, near.port, path)
            collection = book.profile(asked)
            if collection is None:
                continue
            for r in collection.recordings:
                if path_form(r.interaction.request.path) != path:
                    continue  # another collection of the same route (another parent id)
                if 200 <= r.status < 300 and r.body is not NOT_JSON:
                    seen = True
                    found.update(_values(r.body))
                    if len(found) > MAX_NAMED:
                        return None
    return found if seen else None


def _values(body: Any) -> Iterable[str]:
    """The values an answer names: its strings and integers, the keys of its objects (maps
    keyed by id), and the segments of its links."""
    for path, value in leaves.walk(body):
        for step in path:
            if isinstance(step, str):
                yield step
        if isinstance(value, bool) or value is None:
            continue
        if isinstance(value, int):
            yield str(value)
        elif isinstance(value, str):
            yield value
            if "/" in value:
                yield from value.split("?")[0].split("#")[0].split("/")
