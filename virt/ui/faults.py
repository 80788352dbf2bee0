"""The faults page: the fault plan in force, and every fault injected with what the client did
next, as GET /__virt/faults/report gives them (docs/faults.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query
from fastapi.responses import HTMLResponse

from virt.admin.state import State, check_token
from virt.ui.web import UI, page

router = APIRouter(prefix=UI, dependencies=[Depends(check_token)])

SHOWN = 1000
"""Faults the page lists, newest first (the report itself keeps the last 10,000 attempts)."""


@router.get("/faults", response_class=HTMLResponse)
async def faults_page(
    state: State, session: Annotated[str | None, Query(max_length=512)] = None
) -> HTMLResponse:
    """The plan in force and the faults injected (of one session, if given), newest first."""
    log = state.faults
    if log is None:
        return page(
            "missing.html",
            status=404,
            view="faults",
            what="fault plans",
            why="this server takes no fault plans (virt serve does; see docs/faults.md)",
        )
    report = log.report(session or None)
    faults = list(reversed(report["faults"]))[:SHOWN]
    return page(
        "faults.html",
        view="faults",
        plan=report["plan"],
        source=log.source,
        injected=report["injected"],
        faults=faults,
        total=len(report["faults"]),
        session=session or "",
    )
