"""/__virt/rules and /__virt/reset: what the engine matches by, and where its sequences stand."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from virt.admin import payloads as p
from virt.admin.state import PREFIX, State, check_token
from virt.match.rules import Rules

router = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])


@router.get("/rules")
async def get_rules(state: State) -> p.RulesOut:
    """The matching rules in force: thresholds, weights, ignored and required fields,
    matchers and priorities per route (virt.toml's [match] and [[route]])."""
    return p.RulesOut(source=state.rules_source, rules=state.engine.rules.as_dict())


@router.put("/rules", responses={400: {"model": p.Error}})
async def put_rules(state: State, body: dict[str, Any]) -> p.RulesOut:
    """Replace the matching rules until the server stops (virt.toml is not rewritten).
    The body has virt.toml's shape as JSON: {"match": {...}, "route": [{...}]}."""
    state.engine.set_rules(Rules.from_dict(body, "body"))
    return p.RulesOut(source="admin API", rules=state.engine.rules.as_dict())


@router.post("/reset")
async def reset(state: State) -> p.Reset:
    """Restart every recorded sequence from its first response."""
    state.engine.reset()
    return p.Reset(reset=True)
