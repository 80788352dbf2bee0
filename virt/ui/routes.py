"""The routes pages: every recorded route a page at a time, and one route with its learned
template, volatile fields and schemas."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from virt.admin.state import State, check_token
from virt.schema.book import RouteBook
from virt.schema.routes import Found, Route, describe, exact, find, profile
from virt.store import Store
from virt.ui.render import Body, body_view
from virt.ui.web import UI, page

router = APIRouter(prefix=UI, dependencies=[Depends(check_token)])

PAGE = 100
"""Routes one page lists."""
Text = Annotated[str | None, Query(max_length=500)]


@router.get("/routes", response_class=HTMLResponse)
async def routes_page(
    state: State,
    route: Text = None,
    host: Text = None,
    skip: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    """The recorded routes (method, origin, template), sorted, PAGE at a time."""
    found = await asyncio.to_thread(_find, state.store.path, route or None, host or None)
    shown = found.routes[skip : skip + PAGE]
    filters = {k: v for k, v in {"route": route, "host": host}.items() if v}
    return page(
        "routes.html",
        view="routes",
        filters=filters,
        routes=shown,
        skip=skip,
        next_skip=skip + PAGE if skip + PAGE < len(found.routes) else None,
        total=len(found.routes),
        truncated=found.truncated,
    )


@router.get("/route", response_class=HTMLResponse)
async def route_page(
    state: State, name: Annotated[str, Query(min_length=1, max_length=600)]
) -> HTMLResponse:
    """One route by name (`METHOD scheme://host:port/template`): what virt learned from it."""
    chosen = await asyncio.to_thread(
        _profiled, state.store.path, name, state.engine.fallback is not None
    )
    if chosen is None:
        return page(
            "missing.html",
            status=404,
            view="routes",
            what=f"route {name}",
            why="no recorded route has this name",
        )
    route, described, template = chosen
    return page(
        "route.html",
        view="routes",
        route=route,
        described=described,
        answer=template,
        volatile=state.engine.volatile_fields(route.request),
    )


def _find(db: Path, route: str | None, host: str | None) -> Found:
    # one index seek per route group: on a thread with a store of its own, so replay goes on
    store = Store.open(db, readonly=True)
    try:
        return find(store, route, host)
    finally:
        store.close()


Template = tuple[int, Body] | None
"""The recording a fallback answer of the route starts from (its id and answer), if any."""


def _profiled(db: Path, name: str, stage_on: bool) -> tuple[Route, dict[str, Any], Template] | None:
    """The route named `name`, its profile as GET /__virt/schemas describes it, and the
    recorded answer its fallback answers are made from."""
    store = Store.open(db, readonly=True)
    try:
        named = [r for r in exact(find(store, name).routes, name) if r.name == name]
        if not named:
            return None
        made = profile(RouteBook(store), named[0])
        if made is None:
            return named[0], {}, None
        template: Template = None
        if made.success is not None and (answers := made.answers()):
            response = answers[0].interaction.response
            template = (answers[0].id, body_view(response.body, response.headers))
        return named[0], describe(made, stage_on), template
    finally:
        store.close()
