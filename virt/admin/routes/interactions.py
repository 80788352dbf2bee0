"""/__virt/interactions: list, read, add, replace, patch and delete recorded interactions."""

from __future__ import annotations

import time
from dataclasses import replace
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query
from fastapi import Path as FastAPIPath

from virt.admin import payloads as p
from virt.admin.edits import InteractionIn, InteractionPatch
from virt.admin.state import PREFIX, AdminState, State, check_token
from virt.formats.base import request_from_url, response_from, with_body
from virt.model import Interaction, iso_utc
from virt.normalize import keys
from virt.store import Filter

router = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])
InteractionId = Annotated[int, FastAPIPath(ge=1, le=2**63 - 1, description="Interaction id.")]
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": p.Error, "description": "No interaction with this id."}
}


@router.get("/interactions")
async def list_interactions(
    state: State,
    host: str | None = None,
    method: str | None = None,
    path: Annotated[str | None, Query(description="Glob: * and ? wildcards.")] = None,
    status: Annotated[int | None, Query(ge=100, le=599)] = None,
    session: str | None = None,
    tag: str | None = None,
    since: Annotated[str | None, Query(description="recorded_at >= since (ISO 8601)")] = None,
    until: Annotated[str | None, Query(description="recorded_at < until (ISO 8601)")] = None,
    q: Annotated[str | None, Query(description="Full-text search: URL and bodies.")] = None,
    source_format: str | None = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    bodies: Annotated[bool, Query(description="Full interactions, not summaries.")] = False,
) -> p.Page:
    """Recorded interactions, oldest first, a page at a time."""
    f = Filter(
        host=host,
        method=method,
        path=path,
        status=status,
        session=session,
        tag=tag,
        since=since,
        until=until,
        q=q,
        source_format=source_format,
    )
    store = state.store
    found = store.find(f, after=int(cursor) if cursor else None, limit=limit + 1)
    more = len(found) > limit
    found = found[:limit]
    tags = store.tags([i.id for i in found if i.id is not None])
    items: list[p.InteractionOut] | list[p.InteractionSummary]
    if bodies:
        items = [p.interaction_out(i, tags.get(i.id or 0, [])) for i in found]
    else:
        items = [p.summary_out(i, tags.get(i.id or 0, [])) for i in found]
    next_cursor = str(found[-1].id) if more and found else None
    return p.Page(items=items, next_cursor=next_cursor)


@router.get("/interactions/{id}", responses=_NOT_FOUND)
async def get_interaction(state: State, id: InteractionId) -> p.InteractionOut:
    """One interaction with its bodies."""
    return _out(state, _get(state, id))


@router.post("/interactions", status_code=201)
async def add_interaction(state: State, body: InteractionIn) -> p.InteractionOut:
    """Add a hand-written interaction; it answers requests at once."""
    interaction = state.clean(replace(_from_payload(body), session=body.session))
    written = state.store.insert(interaction, keys(interaction.request))
    assert written.id is not None
    state.store.set_tags(written.id, body.tags)
    state.engine.changed()
    return _out(state, _get(state, written.id))


@router.put("/interactions/{id}", responses=_NOT_FOUND)
async def replace_interaction(
    state: State, id: InteractionId, body: InteractionIn
) -> p.InteractionOut:
    """Replace an interaction (it keeps its id, session and place in its sequence)."""
    current = _get(state, id)
    # the exchange is replaced; where and when it came from stays
    interaction = state.clean(
        replace(
            _from_payload(body),
            recorded_at=current.recorded_at,
            timings=current.timings,
            source=current.source,
            source_format=current.source_format,
        )
    )
    state.store.update(id, interaction, keys(interaction.request))
    state.store.set_tags(id, body.tags)
    state.engine.changed()
    return _out(state, _get(state, id))


@router.patch("/interactions/{id}", responses=_NOT_FOUND)
async def patch_interaction(
    state: State, id: InteractionId, body: InteractionPatch
) -> p.InteractionOut:
    """Change some fields of an interaction: status, headers, a body, tags..."""
    current = _get(state, id)
    patched = state.clean(_patched(current, body))
    if patched != current:
        state.store.update(id, patched, keys(patched.request))
    if body.tags is not None:
        state.store.set_tags(id, body.tags)
    state.engine.changed()
    return _out(state, _get(state, id))


@router.delete("/interactions/{id}", responses=_NOT_FOUND)
async def delete_interaction(state: State, id: InteractionId) -> p.Deleted:
    """Delete an interaction; it stops answering at once."""
    if not state.store.delete(id):
        raise HTTPException(404, f"no interaction {id}")
    state.engine.changed()
    return p.Deleted(deleted=id)


def _get(state: AdminState, id: int) -> Interaction:
    found = state.store.get(id)
    if found is None:
        raise HTTPException(404, f"no interaction {id}")
    return found


def _out(state: AdminState, i: Interaction) -> p.InteractionOut:
    assert i.id is not None
    return p.interaction_out(i, state.store.tags([i.id]).get(i.id, []))


def _from_payload(body: InteractionIn) -> Interaction:
    req, resp = body.request, body.response
    try:
        request = request_from_url(req.method, req.url, tuple(req.headers))
    except ValueError as e:
        raise HTTPException(400, f"request.url: {e}") from e
    request = with_body(request, req.content(), encoded=False)
    response = response_from(
        resp.status, tuple(resp.headers), resp.content(), encoded=False, reason=resp.reason
    )
    return Interaction(
        request=request, response=response, session=body.session, recorded_at=iso_utc(time.time())
    )


def _patched(current: Interaction, patch: InteractionPatch) -> Interaction:
    request, response = current.request, current.response
    if (rp := patch.request) is not None:
        if rp.url is not None:
            try:
                moved = request_from_url(request.method, rp.url)
            except ValueError as e:
                raise HTTPException(400, f"request.url: {e}") from e
            request = replace(
                request,
                scheme=moved.scheme,
                host=moved.host,
                port=moved.port,
                path=moved.path,
                query=moved.query,
            )
        if rp.method is not None:
            request = replace(request, method=rp.method.upper())
        if rp.headers is not None:
            request = replace(request, headers=tuple(rp.headers))
        if (new_body := rp.content()) is not None:
            request = with_body(request, new_body, encoded=False)
    if (sp := patch.response) is not None:
        new_body = sp.content()
        if sp.headers is not None or new_body is not None:
            # a new body or new headers: the recorded wire bytes no longer apply
            headers = tuple(sp.headers) if sp.headers is not None else response.headers
            body = new_body if new_body is not None else response.body
            response = response_from(
                response.status,
                headers,
                body,
                encoded=False,
                reason=response.reason,
                http_version=response.http_version,
            )
        if sp.status is not None:
            response = replace(response, status=sp.status)
        if sp.reason is not None:
            response = replace(response, reason=sp.reason)
    return replace(current, request=request, response=response)
