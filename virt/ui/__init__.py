"""The web page at /__virt/ui: the live journal, misses explained, recordings, routes and the
faults injected.

Server-rendered from Jinja2 templates with a little plain JavaScript, every asset served by virt
itself (no CDN, no build step). It sits beside the admin API under the same access rule, and
reads through the same functions.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, FastAPI
from fastapi.responses import Response

from virt.admin.state import check_token
from virt.ui import faults, journal, recordings, routes
from virt.ui.web import UI, static

__all__ = ["UI", "add_ui"]

_assets = APIRouter(prefix=UI, dependencies=[Depends(check_token)], include_in_schema=False)


@_assets.get("/static/{name}")
async def _static(name: str) -> Response:
    return static(name)


def add_ui(admin: FastAPI) -> None:
    """Serve the web page from `admin` (the app create_admin made), under its access rule."""
    for router in (journal.router, recordings.router, routes.router, faults.router, _assets):
        admin.include_router(router, include_in_schema=False)
