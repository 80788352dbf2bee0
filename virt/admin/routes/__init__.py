"""The admin API's routes, one module per concern, in the order the OpenAPI document lists them.

Every handler is `async def`, and must stay so: the store's SQLite connection is not
thread-safe, and FastAPI runs a plain `def` handler on its threadpool. Work that takes long
(an import, an export) goes to a thread of its own with a store of its own.
"""

from __future__ import annotations

from fastapi import APIRouter

from virt.admin.routes.faults import router as faults
from virt.admin.routes.health import router as health
from virt.admin.routes.interactions import router as interactions
from virt.admin.routes.journal import router as journal
from virt.admin.routes.matching import router as matching
from virt.admin.routes.schemas import router as schemas
from virt.admin.routes.transfer import router as transfer

ROUTERS: tuple[APIRouter, ...] = (
    health,
    interactions,
    journal,
    matching,
    faults,
    schemas,
    transfer,
)
