"""GET /__virt/health and /__virt/ready: open to anyone, for probes and `virt serve` callers."""

from __future__ import annotations

from fastapi import APIRouter

from virt.admin import payloads as p
from virt.admin.state import PREFIX, State

router = APIRouter(prefix=PREFIX)


@router.get("/health")
async def health(state: State) -> p.Health:
    """The server is up and its database is readable."""
    return p.Health(status="ok", interactions=state.store.count())


@router.get("/ready")
async def ready(state: State) -> p.Health:
    """Both doors are accepting requests."""
    return p.Health(status="ready", interactions=state.store.count())
