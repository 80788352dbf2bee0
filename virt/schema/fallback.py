"""The fallback stage: answers for requests nobody recorded, on routes the recordings know.

After exact, canonical and scored matching find nothing, a request whose route is known gets
the answer the real API would most likely give: the route's most frequent success status, its
recorded headers, and a body made from the nearest recording of the route with the request's
own values in place (`template`), or from an imported OpenAPI document (`openapi`), or
generated from the route's inferred schema (`schema`), in that order, each checked against the
route's answer schema before it is sent. Everything is seeded by the canonical request: the
same request gets the same bytes in every process.

What it never does: answer a route nothing knows, answer a route whose recorded answers are not
JSON (a template of bytes is a wrong answer in disguise), or send a body its schema refuses.
"""

from __future__ import annotations

import copy
import hashlib
import logging
from collections.abc import Callable, Sequence
from typing import Any

import orjson

from virt.errors import SchemaError, StateLimit, VirtError
from virt.model import Request, header
from virt.normalize.canonical import NOT_JSON, canonical_key
from virt.normalize.fields import MAX_FIELDS_BODY
from virt.normalize.lookup import exact_key
from virt.normalize.uri import path_form
from virt.schema import fill, leaves, pages, paging, presence
from virt.schema.absent import NOT_THERE, Absent, absent
from virt.schema.book import RouteBook, RouteProfile
from virt.schema.contract import refusal
from virt.schema.infer import structural
from virt.schema.objects import GONE, Objects
from virt.schema.openapi import OpenApi, Operation
from virt.schema.reply import Answer, Refusal, headers_for, linked
from virt.schema.synth import from_openapi, from_schema
from virt.schema.template import choose
from virt.schema.validate import is_valid
from virt.state import SessionState
from virt.store import Store

log = logging.getLogger("virt.fallback")

_CREATES = frozenset({"POST"})
_CHANGES = frozenset({"PUT", "PATCH"})
DOCUMENTS = "openapi"
"""The kind of stored document the stage reads."""


class Fallback:
    """The fourth stage of matching, over one store and one session state."""

    def __init__(
        self,
        store: Store,
        state: SessionState,
        openapi: Sequence[OpenApi] = (),
        reload: Callable[[], list[OpenApi]] | None = None,
    ) -> None:
        self.book = RouteBook(store)
        self.objects = Objects(state)
        self.state = state
        self.store = store
        self.openapi = list(openapi)
        self._reload = reload
        """Reads the documents again (stored and --openapi) when the stored ones changed."""
        self._documents = store.documents_stamp(DOCUMENTS) if reload else (0, 0)

    @property
    def active(self) -> bool:
        """Whether a request may find an object a session created (asked before matching)."""
        return self.objects.active

    def clear(self) -> None:
        """The recordings changed: profiles are worked out again, and the OpenAPI documents
        read again if one was imported or removed."""
        self.book.clear()
        if self._reload is None:
            return
        stamp = self.store.documents_stamp(DOCUMENTS)
        if stamp == self._documents:
            return
        try:
            self.openapi = self._reload()
        except VirtError as e:
            log.error("the OpenAPI documents could not be read again, keeping the last: %s", e)
            return
        self._documents = stamp

    def held(self, request: Request, session: str) -> Answer | None:
        """The answer from the objects `session` created, for a GET, PUT, PATCH or DELETE of
        one of them (a deleted one answers the route's 404); None when it holds none there."""
        origin = _origin(request)
        path = path_form(request.path)
        method = request.method.upper()
        if method not in ("GET", "HEAD", "DELETE", "PUT", "PATCH"):
            return None
        found = self.objects.get(session, origin, path)
        if found is None:
            return None
        profile = self.book.profile(request)
        route = profile.name if profile else f"{method} {origin}{path}"
        if found == GONE:
            return self._not_found(profile, route)
        if method == "DELETE":
            self.objects.delete(session, origin, path)
            status = profile.success if profile and profile.success else 204
            base = profile.answers()[0] if profile and profile.answers() else None
            body = base.interaction.response.body if base and status != 204 else b""
            headers = headers_for(base, body) if base else ()
            return Answer(
                status,
                headers,
                body,
                "template",
                base.id if base else None,
                {"route": route, "state": "deleted"},
            )
        if method in _CHANGES:
            sent = leaves.body_data(request)
            if isinstance(sent, dict) and isinstance(found, dict):
                found = {**found, **{k: v for k, v in sent.items() if k in found and k != "id"}}
                self.objects.put(session, origin, path, found)
        body = orjson.dumps(found)
        base = profile.answers()[0] if profile and profile.answers() else None
        status = profile.success if profile and profile.success else 200
        return Answer(
            status,
            headers_for(base, body),
            body,
            "template",
            base.id if base else None,
            {"route": route, "state": "created"},
        )

    def answer(
        self, request: Request, session: str, ranked: Sequence[int] = ()
    ) -> Answer | Refusal | None:
        """The fallback answer to `request`, nearest recordings first in `ranked`; a Refusal
        when its route is known but cannot be answered; None when no route is known."""
        try:
            return self._answer(request, session, ranked)
        except SchemaError as e:  # a schema nobody can use: a miss that says why
            log.warning("no fallback for %s %s: %s", request.method, request.url, e)
            route = f"{request.method.upper()} {_origin(request)}{path_form(request.path)}"
            return Refusal(f"its schema cannot be used: {e}", route)

    def _answer(
        self, request: Request, session: str, ranked: Sequence[int]
    ) -> Answer | Refusal | None:
        held = self.held(request, session)
        if held is not None:
            return held
        profile = self.book.profile(request)
        operation = self._operation(request)
        if profile is None and operation is None:
            return None
        # a retried create with its idempotency key gets its first answer before matching
        # (virt.replay.idempotency), for recorded answers and made-up ones alike
        seed, nth = self._seed(request, session, profile)
        return self._made(request, session, ranked, profile, operation, seed, nth)

    def _made(
        self,
        request: Request,
        session: str,
        ranked: Sequence[int],
        profile: RouteProfile | None,
        operation: tuple[OpenApi, Operation] | None,
        seed: bytes,
        nth: int,
    ) -> Answer | Refusal | None:
        if profile is not None:
            gone = absent(self.store, self.book, request, profile)
            if gone is not None:
                return self._not_found(profile, profile.name, gone)
            if profile.success is None:
                return Refusal(
                    "the route has no recorded success answer to make one from", profile.name
                )
            if not profile.structured:
                return Refusal(
                    "the route's recorded answers are not JSON: no answer is made up for it",
                    profile.name,
                )
            refused = refusal(request, profile)
            if refused is not None:
                return refused
            try:
                made = self._from_template(request, session, profile, ranked, seed, nth)
            except SchemaError as e:
                log.warning("fallback for %s: %s", profile.name, e)
                made = None
            if made is not None:
                return made
        if operation is not None:
            found = from_openapi(request, operation, seed)
            if found is not None:
                return found
        if profile is not None:
            try:
                return from_schema(request, profile, seed)
            except SchemaError as e:
                return Refusal(f"the route's schema cannot be satisfied: {e}", profile.name)
        return None

    def _seed(
        self, request: Request, session: str, profile: RouteProfile | None
    ) -> tuple[bytes, int]:
        """The seed of everything made up for `request`, and for a create its number among
        the session's creates on the route (0 for anything else)."""
        # the canonical key reads a JSON body as data: over MAX_FIELDS_BODY the exact key
        # (a digest of the bytes) seeds alike, without parsing megabytes on the loop
        large = len(request.body) > MAX_FIELDS_BODY
        seed = (exact_key(request) if large else canonical_key(request)).encode()
        nth = 0
        if _creates(request):
            # two equal creates in one session are two objects: the nth create has its own ids
            route = profile.name if profile else request.path
            nth = self.state.advance(f"{session}\0create\0{route}")
            seed += b"\0" + str(nth).encode()
        return hashlib.sha256(seed).digest(), nth

    def _from_template(
        self,
        request: Request,
        session: str,
        profile: RouteProfile,
        ranked: Sequence[int],
        seed: bytes,
        nth: int = 0,
    ) -> Answer | None:
        answers = profile.json_answers
        if not answers:
            return None
        template = choose(answers, request, ranked)
        sent = leaves.request_values(request)
        echoes = _echoes(profile)
        explain: dict[str, Any] = {"route": profile.name, "template": template.id}
        body: Any
        page: paging.Page | None = None
        where = pages.list_path(template.body) if request.method.upper() == "GET" else None
        if where is not None:
            collection = pages.Collection(self.book.collection_answers(request, profile), where)
            how = paging.asked(
                {k.split(":", 1)[1]: v for k, v in sent.items() if k.startswith("query:")}
            )
            body, page = collection.page(how, seed)
            body, filled = fill.fill(body, [e for e in echoes if not _in_list(e, where)], sent)
            explain["page"] = {"last": page.last, "length": collection.length}
        else:
            body, followed = presence.follow(
                template.body, _ties(profile), request, answers, ranked
            )
            if followed:
                explain["presence"] = followed
            body, filled = fill.fill(body, echoes, sent)
            if _creates(request):
                body = fill.renew(body, _fresh(profile, echoes), profile.answers(), nth, seed)
        schema = profile.response_schemas.get(template.status)
        checked = paging.as_recorded(body, template.body) if where is not None else body
        if schema is not None and not is_valid(structural(schema), checked):
            return None  # the shape broke: the schema alone makes the answer
        data = orjson.dumps(body)
        explain["filled"] = filled
        explain["status"] = template.status
        if _creates(request) and isinstance(body, dict) and "id" in body:
            created = f"{path_form(request.path).rstrip('/')}/{body['id']}"
            try:
                self.objects.put(session, _origin(request), created, body)
                explain["remembered"] = True
            except StateLimit as e:
                explain["remembered"] = False
                log.warning("fallback create not remembered: %s", e)
        headers = headers_for(template, data, seed, request)
        if page is not None:
            headers = linked(headers, page)
        return Answer(template.status, headers, data, "template", template.id, explain)

    def with_created(
        self,
        request: Request,
        session: str,
        status: int,
        body: bytes,
        headers: Sequence[tuple[str, str]],
    ) -> bytes | None:
        """A list answer with the objects `session` created in that collection appended; None
        when it created none there."""
        if request.method.upper() != "GET" or status != 200:
            return None
        created = self.objects.listed(session, _origin(request), path_form(request.path))
        if not created:
            return None
        data = leaves.json_body(body, header(tuple(headers), "content-type"))
        where = pages.list_path(data) if data is not NOT_JSON else None
        if where is None:
            return None
        data = copy.deepcopy(data)
        items = leaves.get(data, where) if where else data
        items.extend(created)
        for key in list(data) if isinstance(data, dict) else ():
            if key.lower() in paging.TOTAL and isinstance(data[key], int):
                data[key] += len(created)
        return orjson.dumps(data)

    def _not_found(
        self, profile: RouteProfile | None, route: str, gone: Absent | None = None
    ) -> Answer:
        """The route's recorded 404 (or 410), else a JSON 404: for an object a session deleted,
        or one the recordings show is not there (`gone`)."""
        explain: dict[str, Any] = {"route": route}
        if gone is None:
            explain["state"] = "deleted"
            recorded = profile.errors(NOT_THERE) if profile else None
            data = recorded.interaction.response.body if recorded else b""
        else:
            explain["absent"] = gone.explain()
            recorded, data = gone.recorded, gone.body()
        if recorded is not None:
            status = recorded.interaction.response.status
            explain["status"] = status
            headers = headers_for(recorded, data)
            return Answer(status, headers, data, "template", recorded.id, explain)
        body = orjson.dumps({"detail": "Not Found"})
        headers = (("Content-Type", "application/json"),)
        return Answer(404, headers, body, "schema", None, {**explain, "status": 404})

    def _operation(self, request: Request) -> tuple[OpenApi, Operation] | None:
        for document in self.openapi:
            op = document.find(request.method.upper(), request.host, path_form(request.path))
            if op is not None:
                return document, op
        return None

    def schemas(self, limit: int = 1000) -> list[dict[str, Any]]:
        """What every route's recordings say, for GET /__virt/schemas and `virt schema`."""
        return [p.as_dict() for p in self.book.profiles(limit)]


def _fresh(profile: RouteProfile, echoes: list[fill.Echo]) -> list[leaves.Path]:
    with profile._lock:
        if profile.fresh is None:
            profile.fresh = fill.fresh_paths(profile.answers(), echoes)
        return profile.fresh


def _echoes(profile: RouteProfile) -> list[fill.Echo]:
    with profile._lock:
        if profile.echoes is None:
            profile.echoes = fill.learn(profile.recordings)
        return profile.echoes


def _ties(profile: RouteProfile) -> list[presence.Tie]:
    """The ties of the route's success answers, among which every template is chosen."""
    with profile._lock:
        if profile.ties is None:
            profile.ties = presence.learn(profile.recordings, profile.success or 0)
        return profile.ties


def _in_list(echo: fill.Echo, where: leaves.Path) -> bool:
    """Whether `echo` puts a value into an item of the list at `where` (pages make those)."""
    n = len(where)
    return len(echo.path) > n and echo.path[:n] == where and isinstance(echo.path[n], int)


def _creates(request: Request) -> bool:
    """Whether `request` makes something new: a POST, unless it is a GraphQL query (a read
    sent as a POST; a mutation is a create)."""
    if request.method.upper() not in _CREATES:
        return False
    data = leaves.body_data(request)
    if isinstance(data, dict) and isinstance(data.get("query"), str):
        document: str = data["query"]
        return document.lstrip().startswith("mutation")
    return True


def _origin(request: Request) -> str:
    return f"{request.scheme}://{request.host}:{request.port}"
