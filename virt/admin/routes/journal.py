"""GET /__virt/journal and /__virt/stats: what was served, and what is recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from virt.admin import payloads as p
from virt.admin.state import PREFIX, State, check_token

router = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])


@router.get("/journal")
async def journal(
    state: State,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    match: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
) -> p.Journal:
    """The requests served recently, newest first, with how each was matched."""
    kept = state.engine.journal
    return p.Journal(
        started=kept.started,
        entries=[
            p.ServedOut.model_validate(e, from_attributes=True)
            for e in kept.entries(limit=limit, match=match)
        ],
    )


@router.get("/stats")
async def stats(state: State) -> p.Stats:
    """Interactions per host and route; answers by match kind since start."""
    routes = state.store.route_counts()
    hosts: dict[str, int] = {}
    for host, _, _, n in routes:
        hosts[host] = hosts.get(host, 0) + n
    return p.Stats(
        interactions=sum(hosts.values()),
        hosts=hosts,
        routes=[p.RouteCount(host=h, method=m, path=pa, interactions=n) for h, m, pa, n in routes],
        served=state.engine.journal.counts(),
        started=state.engine.journal.started,
    )
