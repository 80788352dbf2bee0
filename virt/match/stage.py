"""The fourth stage, as the engine sees it: answers for requests nobody recorded.

The stage itself lives in virt.schema (inferred schemas, templates, OpenAPI documents) and is
handed to the Engine by whoever builds it; matching knows only this interface, so the layers
stay apart and `--no-fallback` is simply an engine without one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from http import HTTPStatus
from typing import Any, Protocol, runtime_checkable

from virt.match.result import Match, MatchKind
from virt.model import Interaction, Request, Response


class Answered(Protocol):
    """A fallback answer."""

    @property
    def status(self) -> int: ...
    @property
    def headers(self) -> tuple[tuple[str, str], ...]: ...
    @property
    def body(self) -> bytes: ...
    @property
    def source(self) -> str:
        """template | openapi | schema"""
        ...

    @property
    def template(self) -> int | None:
        """The recording the answer was built from."""
        ...

    @property
    def explain(self) -> dict[str, Any]: ...


@runtime_checkable
class Refused(Protocol):
    """The route is known, and no answer can be made for it."""

    @property
    def why(self) -> str: ...
    @property
    def route(self) -> str: ...


class FallbackStage(Protocol):
    @property
    def active(self) -> bool:
        """Whether some session may hold objects it created (asked before every match)."""
        ...

    def held(self, request: Request, session: str) -> Answered | None:
        """The answer from the objects `session` created, when `request` names one."""
        ...

    def answer(
        self, request: Request, session: str, ranked: Sequence[int] = ()
    ) -> Answered | Refused | None:
        """The answer for an unrecorded request; `ranked` are the nearest recordings."""
        ...

    def with_created(
        self,
        request: Request,
        session: str,
        status: int,
        body: bytes,
        headers: Sequence[tuple[str, str]],
    ) -> bytes | None:
        """A recorded list answer with the session's created objects added, or None."""
        ...

    def clear(self) -> None:
        """The recordings changed."""
        ...


def fallback_match(key: str, request: Request, made: Answered) -> Match:
    """A Match for a fallback answer: a made-up interaction named after its template."""
    try:
        reason = HTTPStatus(made.status).phrase
    except ValueError:
        reason = ""
    response = Response(made.status, reason, made.headers, made.body)
    interaction = Interaction(request, response, id=made.template)
    explain = {**made.explain, "source": made.source}
    return Match(MatchKind.FALLBACK, key, interaction, fallback=explain, source=made.source)


def with_body(found: Match, body: bytes) -> Match:
    """`found` answering `body` in place of its recorded body (objects a session created added
    to a list): Content-Length follows it, and the recorded Content-Encoding and ETag, which
    described the old bytes, are dropped."""
    assert found.interaction is not None
    resp = found.interaction.response
    headers = tuple(
        (n, str(len(body)) if n.lower() == "content-length" else v)
        for n, v in resp.headers
        if n.lower() not in ("content-encoding", "etag")
    )
    changed = dataclasses.replace(resp, body=body, headers=headers, wire_body=None, encoding=None)
    answer = dataclasses.replace(found.interaction, response=changed)
    return dataclasses.replace(found, interaction=answer)
