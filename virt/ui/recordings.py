"""The recordings pages: a search and filtered list a page at a time (keyset by id), one
interaction pretty-printed, and its recorded bodies as bytes for images."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from fastapi import Path as FastAPIPath
from fastapi.responses import HTMLResponse, Response

from virt.admin.state import State, check_token
from virt.store import Filter
from virt.ui.render import IMAGE_TYPES, body_view, media_type
from virt.ui.web import BODY_POLICY, SECURITY_HEADERS, UI, page

router = APIRouter(prefix=UI, dependencies=[Depends(check_token)])

PAGE = 50
"""Interactions one page of the list shows."""
Text = Annotated[str | None, Query(max_length=500)]
InteractionId = Annotated[int, FastAPIPath(ge=1, le=2**63 - 1)]


@router.get("/recordings", response_class=HTMLResponse)
async def recordings_page(
    state: State,
    q: Text = None,
    host: Text = None,
    method: Text = None,
    path: Annotated[
        str | None, Query(max_length=500, description="Glob (* and ?) or route template.")
    ] = None,
    status: Annotated[str | None, Query(pattern=r"^([1-5][0-9][0-9])?$")] = None,
    tag: Text = None,
    session: Text = None,
    after: Annotated[str | None, Query(pattern=r"^[0-9]{0,18}$")] = None,
) -> HTMLResponse:
    """Recorded interactions, oldest first, PAGE at a time: one index range per page, never
    the table whole."""
    filters = {
        "q": q,
        "host": host,
        "method": method,
        "path": path,
        "status": status,
        "tag": tag,
        "session": session,
    }
    filters = {k: v for k, v in filters.items() if v}
    f = Filter(
        host=host or None,
        method=method or None,
        path=_glob(path) if path else None,
        status=int(status) if status else None,
        session=session or None,
        tag=tag or None,
        q=q or None,
    )
    store = state.store
    found = store.find(f, after=int(after) if after else None, limit=PAGE + 1)
    more = len(found) > PAGE
    found = found[:PAGE]
    tags = store.tags([i.id for i in found if i.id is not None])
    return page(
        "recordings.html",
        view="recordings",
        filters=filters,
        items=found,
        tags=tags,
        after=after or "",
        next_after=str(found[-1].id) if more and found else "",
    )


def _glob(path: str) -> str:
    """A route template's {name} segments as globs: `/v1/users/{id}` lists every user."""
    return _PARAMETER.sub("*", path)


_PARAMETER = re.compile(r"\{[^}/]*\}")


@router.get("/recordings/{id}", response_class=HTMLResponse)
async def interaction_page(state: State, id: InteractionId) -> HTMLResponse:
    """One interaction: both sides' headers and bodies formatted, its tags editable."""
    found = state.store.get(id)
    if found is None:
        return page(
            "missing.html",
            status=404,
            view="recordings",
            what=f"interaction {id}",
            why="no recording has this id (deleted, or in another database)",
        )
    tags = state.store.tags([id]).get(id, [])
    return page(
        "interaction.html",
        view="recordings",
        i=found,
        tags=tags,
        request_body=body_view(found.request.body, found.request.headers),
        response_body=body_view(found.response.body, found.response.headers),
    )


@router.get("/recordings/{id}/{side}/body")
async def body(state: State, id: InteractionId, side: Literal["request", "response"]) -> Response:
    """A recorded body's bytes: an image with its recorded type, anything else as an
    attachment that no browser renders, and nothing in either ever runs (BODY_POLICY)."""
    found = state.store.get(id)
    if found is None:
        return Response(f"no interaction {id}\n", status_code=404, media_type="text/plain")
    message = found.request if side == "request" else found.response
    media = media_type(message.headers)
    response = Response(message.body)
    response.headers.update(SECURITY_HEADERS)
    response.headers["Content-Security-Policy"] = BODY_POLICY
    if media in IMAGE_TYPES:
        response.headers["Content-Type"] = media
    else:
        response.headers["Content-Type"] = "application/octet-stream"
        response.headers["Content-Disposition"] = f'attachment; filename="{id}-{side}.bin"'
    return response
