"""/__virt/faults: the fault plan in force, replaced at run time, and the report of the faults
injected and what the clients did next (docs/faults.md)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException

from virt.admin import payloads as p
from virt.admin.state import PREFIX, State, check_token
from virt.faults import FaultLog, parse_plan

router = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])


def _log(state: State) -> FaultLog:
    if state.faults is None:
        raise HTTPException(404, "this server takes no fault plans")
    return state.faults


def _out(log: FaultLog) -> p.FaultsOut:
    plan = log.plan
    if plan is None:
        return p.FaultsOut(source=None, seed=0, faults=[])
    return p.FaultsOut(source=log.source, seed=plan.seed, faults=plan.as_dict()["faults"])


@router.get("/faults")
async def get_faults(state: State) -> p.FaultsOut:
    """The fault plan in force: its seed and rules."""
    return _out(_log(state))


@router.put("/faults", responses={400: {"model": p.Error}})
async def put_faults(state: State, body: p.FaultsIn) -> p.FaultsOut:
    """Replace the fault plan until the server stops (an empty list: no faults). Attempts
    count from the next request; the report starts again. With --workers or a shared --state,
    the other processes take it up within a second; each keeps its own report."""
    log = _log(state)
    log.replace(parse_plan(body.faults, body.seed, "body"), "admin API")
    log.publish()
    return _out(log)


@router.delete("/faults")
async def delete_faults(state: State) -> p.FaultsOut:
    """No faults from now on; the report starts again."""
    log = _log(state)
    log.replace(None, None)
    log.publish()
    return _out(log)


@router.get("/faults/report")
async def faults_report(state: State, session: str | None = None) -> p.FaultsReport:
    """Every fault injected (of `session`, if given), its session, attempt and idempotency key,
    and what the client did next: retried (with the same key or not) or gave up."""
    return p.FaultsReport(**_log(state).report(session))
