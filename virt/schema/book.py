"""The route book: what the recordings of one route say, worked out on first use.

A route is a method, an origin and a path template. Its profile holds a bounded sample of its
recordings in recorded order, and what the fallback stage needs from them: which answers are
structured (JSON), the most frequent success status, the schemas of request and answer
bodies, the learned echoes. Profiles are computed when a request first needs one, never at
start-up, so a database of a million recordings is ready as fast as one of ten.

Templates are also learned from the recordings, not only from the shape of a segment:
`/users/alice` and `/users/bob` with answers of the same shape are one route `/users/{}`.
"""

from __future__ import annotations

import collections
import functools
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson

from virt.memo import Memo
from virt.model import Interaction, Request, header
from virt.normalize.canonical import NOT_JSON
from virt.normalize.route import PARAM, is_param, route_key
from virt.normalize.uri import path_form
from virt.schema import leaves
from virt.schema.infer import infer, query_schema
from virt.store import Store

SAMPLE = 100
"""Recordings of one route read to profile it: enough to learn shapes, bounded in time."""
COLLECTION_ANSWERS = 1_000
"""Recordings of one route read to cut pages from, at most: a collection recorded page by page
has its items in all of them, not in the first SAMPLE."""
COLLECTION_BYTES = 32 << 20
"""Bytes of recorded answers read to cut pages from, at most."""
COLLECTIONS_KEPT = 64
"""Routes whose whole collection is kept read."""
SIBLINGS_SCAN = 2_000
"""Recorded paths looked at when learning a template from sibling paths."""
LEARNED = "{}"
"""A path segment learned to vary (`/users/{}`), beside `{id}` for identifier-like ones."""


@dataclass(frozen=True)
class Recorded:
    """One recording as the fallback stage reads it."""

    id: int
    interaction: Interaction
    body: Any
    """The answer's JSON data, or NOT_JSON."""

    @functools.cached_property
    def values(self) -> dict[str, Any]:
        return leaves.request_values(self.interaction.request)

    @property
    def status(self) -> int:
        return self.interaction.response.status


@dataclass(eq=False)
class RouteProfile:
    method: str
    origin: str
    """scheme://host:port"""
    template: str
    """The path template: `/items/{id}`, `/users/{}`."""
    recordings: list[Recorded]
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    echoes: list[Any] | None = field(default=None, repr=False)
    """The echoes learned from the recordings (virt.schema.fill), once asked for."""
    fresh: list[Any] | None = field(default=None, repr=False)
    """The places of identifiers made fresh on each call (virt.schema.fill), once asked for."""
    ties: list[Any] | None = field(default=None, repr=False)
    """The answer fields that come and go with request fields in the success answers
    (virt.schema.presence), once asked for."""
    absent: Any = field(default=None, repr=False)
    """What the recordings say about ids the API never had (virt.schema.absent), once asked
    for: its Evidence, or False when they say nothing."""

    @property
    def name(self) -> str:
        """How the journal and the schema listing name the route: `GET http://h:80/items/{id}`."""
        return f"{self.method} {self.origin}{self.template}"

    @functools.cached_property
    def success(self) -> int | None:
        """The most frequent 2xx status, the lowest on a tie; None without one."""
        counts = collections.Counter(r.status for r in self.recordings if 200 <= r.status < 300)
        if not counts:
            return None
        return min(counts, key=lambda s: (-counts[s], s))

    @functools.cached_property
    def structured(self) -> bool:
        """Every success answer is JSON (or empty): only then can the route be answered from a
        template. A route of bytes, text or git packs never is."""
        answers = [r for r in self.recordings if 200 <= r.status < 300]
        if not answers:
            return False
        return all(r.body is not NOT_JSON or not r.interaction.response.body for r in answers)

    @functools.cached_property
    def json_answers(self) -> list[Recorded]:
        """The success answers that are JSON, among which a template is chosen (worked out
        once: every made-up answer of the route asks)."""
        return [r for r in self.answers() if r.body is not NOT_JSON]

    def answers(self, status: int | None = None) -> list[Recorded]:
        """The recordings answered with `status` (the success status when None), JSON first."""
        wanted = self.success if status is None else status
        found = [r for r in self.recordings if r.status == wanted]
        return sorted(found, key=lambda r: r.body is NOT_JSON)

    def errors(self, statuses: Sequence[int]) -> Recorded | None:
        """The first recording answered with one of `statuses` (in their order), with a JSON body
        where one exists: the API's own shape for a client error."""
        for status in statuses:
            found = self.answers(status)
            if found:
                return found[0]
        return None

    @functools.cached_property
    def response_schemas(self) -> dict[int, dict[str, Any]]:
        """The inferred schema of the JSON answers, per status."""
        by_status: dict[int, list[Any]] = collections.defaultdict(list)
        for r in self.recordings:
            if r.body is not NOT_JSON:
                by_status[r.status].append(r.body)
        return {status: infer(bodies) for status, bodies in sorted(by_status.items())}

    @functools.cached_property
    def request_samples(self) -> int:
        """How many different request bodies the route's successful calls sent (JSON ones
        as data, members in any order): one body sent ten times is one sample of what the API
        accepts, not ten."""
        seen = set()
        for r in self.recordings:
            if 200 <= r.status < 300:
                data = leaves.body_data(r.interaction.request)
                raw = r.interaction.request.body
                seen.add(
                    raw if data is NOT_JSON else orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
                )
        return len(seen)

    @functools.cached_property
    def request_schema(self) -> dict[str, Any] | None:
        """The inferred schema of the JSON request bodies of successful calls; None when they
        are not all JSON objects or arrays."""

        bodies = []
        for r in self.recordings:
            if not 200 <= r.status < 300:
                continue
            data = leaves.body_data(r.interaction.request)
            if data is NOT_JSON or not isinstance(data, dict | list):
                return None
            bodies.append(data)
        return infer(bodies) if bodies else None

    @functools.cached_property
    def query_schema(self) -> dict[str, Any] | None:
        """The inferred schema of the parsed query strings."""
        from virt.normalize.uri import pairs

        queries = []
        for r in self.recordings:
            query = r.interaction.request.query
            parsed: dict[str, str | list[str]] = {}
            for name, value in pairs(query) if query else ():
                parsed.setdefault(name, value)
            queries.append(parsed)
        return query_schema(queries) if queries else None

    def as_dict(self) -> dict[str, Any]:
        """The profile as GET /__virt/schemas and `virt schema` show it."""
        return {
            "route": self.name,
            "method": self.method,
            "origin": self.origin,
            "template": self.template,
            "recordings": len(self.recordings),
            "structured": self.structured,
            "success": self.success,
            "request": self.request_schema,
            "query": self.query_schema,
            "responses": {str(s): schema for s, schema in self.response_schemas.items()},
        }


class RouteBook:
    """Route profiles of one store, each computed on first use and kept until `clear`."""

    def __init__(self, store: Store, size: int = 1024) -> None:
        self.store = store
        self._profiles: Memo[str, RouteProfile | None] = Memo(size)
        self._collections: Memo[str, list[Recorded]] = Memo(COLLECTIONS_KEPT)
        self._lock = threading.Lock()

    def clear(self) -> None:
        """Forget every profile: the recordings changed."""
        self._profiles.clear()
        self._collections.clear()

    def collection_answers(self, request: Request, profile: RouteProfile) -> list[Recorded]:
        """The success answers of `profile`'s route for cutting pages from: every one of them
        up to COLLECTION_ANSWERS and COLLECTION_BYTES, in recorded order, where the profile's
        sample holds only the first SAMPLE (a collection recorded as 150 pages has items past
        the 100th page); the profile's own otherwise."""
        if len(profile.recordings) < SAMPLE:
            return profile.answers()
        route = route_key(request)
        cached = self._collections.get(route)
        if cached is not None:
            return cached
        recordings, size = [], 0
        for id, _ in self.store.group_rows(route, COLLECTION_ANSWERS):
            recorded = _recorded(self.store, id)
            if recorded is None:
                continue
            size += len(recorded.interaction.response.body)
            if size > COLLECTION_BYTES:
                break
            recordings.append(recorded)
        whole = RouteProfile(profile.method, profile.origin, profile.template, recordings)
        found = whole.answers(profile.success) if recordings else profile.answers()
        self._collections.put(route, found)
        return found

    def profile(self, request: Request, route: str | None = None) -> RouteProfile | None:
        """The profile of `request`'s route: its route group, else a template learned from
        sibling paths; None when the recordings know no such route."""
        route = route or route_key(request)
        cached = self._profiles.get(route)
        if cached is not None or (route in self._profiles._entries):
            return cached
        profile = self._group(request, route) or self._siblings(request)
        self._profiles.put(route, profile)
        return profile

    def profiles(self, limit: int = 1000) -> list[RouteProfile]:
        """A profile per recorded route group (method, origin, template), at most `limit`."""
        out = []
        for id, route in self.store.route_groups(limit):
            interaction = self.store.get(id)
            if interaction is None:
                continue
            found = self.profile(interaction.request, route)
            if found is not None:
                out.append(found)
        return out

    def _group(self, request: Request, route: str) -> RouteProfile | None:
        group = self.store.group(route, SAMPLE, near=request)
        if not group:
            return None
        ids = sorted(id for id, _ in group)
        template = "/".join(
            PARAM if s and is_param(s) else s for s in path_form(request.path).split("/")
        )
        return self._make(request, template, ids)

    def _siblings(self, request: Request) -> RouteProfile | None:
        """A route learned from recorded paths that differ from `request`'s in one segment,
        whose answers share one shape: `/users/carol` beside recorded `/users/alice` and
        `/users/bob`."""
        segments = path_form(request.path).split("/")
        for i in range(len(segments) - 1, 0, -1):
            if not segments[i] or is_param(segments[i]):
                continue
            prefix = "/".join(segments[:i]) + "/"
            found: dict[str, list[int]] = {}
            for id, path in self.store.under(request.method, request.host, prefix, SIBLINGS_SCAN):
                other = path_form(path).split("/")
                if len(other) != len(segments) or other[i] == segments[i]:
                    continue
                if all(
                    _same_segment(a, b)
                    for j, (a, b) in enumerate(zip(other, segments, strict=True))
                    if j != i
                ):
                    found.setdefault(other[i], []).append(id)
            if len(found) < 2:
                continue
            ids = sorted(id for group in found.values() for id in group)[:SAMPLE]
            template = "/".join(
                LEARNED if j == i else (PARAM if s and is_param(s) else s)
                for j, s in enumerate(segments)
            )
            profile = self._make(request, template, ids)
            if profile is not None and _one_shape(profile):
                return profile
        return None

    def _make(self, request: Request, template: str, ids: Sequence[int]) -> RouteProfile | None:
        recordings = [r for id in ids if (r := _recorded(self.store, id)) is not None]
        if not recordings:
            return None
        first = recordings[0].interaction.request
        origin = f"{first.scheme}://{first.host}:{first.port}"
        return RouteProfile(request.method.upper(), origin, template, recordings)


def _recorded(store: Store, id: int) -> Recorded | None:
    """Recording `id` with its answer read as JSON; None when it is gone."""
    interaction = store.get(id)
    if interaction is None:
        return None
    resp = interaction.response
    body = leaves.json_body(resp.body, header(resp.headers, "content-type"))
    return Recorded(id, interaction, body)


def _same_segment(a: str, b: str) -> bool:
    return a == b or (bool(a) and bool(b) and is_param(a) and is_param(b))


def _one_shape(profile: RouteProfile) -> bool:
    """Whether the success answers of a learned route are JSON objects with the same keys."""
    answers = [r.body for r in profile.answers() if r.body is not NOT_JSON]
    if len(answers) < 2 or not all(isinstance(a, dict) for a in answers):
        return False
    return len({frozenset(a) for a in answers}) == 1
