"""The admin API: a FastAPI app mounted at /__virt/ on the direct door.

Everything here reads and writes the recordings database and nothing else: no path on the
server is ever read or written on a client's say-so, and no code is run.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from virt.admin import payloads as p
from virt.admin.limit import BodyLimit
from virt.admin.routes import ROUTERS
from virt.admin.routes.health import router as probes
from virt.admin.routes.transfer import IMPORT_PATH
from virt.admin.state import PREFIX, AdminState
from virt.errors import StateUnavailable, StoreReadOnly, VirtError
from virt.faults import FaultLog
from virt.limits import DEFAULT_MAX_BODY
from virt.match.engine import Engine
from virt.model import Interaction

__all__ = ["PREFIX", "create_admin"]


def create_admin(
    engine: Engine,
    *,
    token: str | None = None,
    rules_source: str | None = None,
    redact: Callable[[Interaction], Interaction] | None = None,
    host: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    probes_only: bool = False,
    faults: FaultLog | None = None,
) -> FastAPI:
    """The admin app. Routes keep the /__virt/ prefix: the replay app hands requests over as is.

    With a `token`, every route but health and ready requires `Authorization: Bearer <token>`.
    Without one, they refuse what a web page could send (see virt.admin.access): a Host that
    is not this machine or `host` (the --host virt listens on), another site's Origin.
    `max_body` (--max-body, as at both doors) bounds the file POST /__virt/import takes, and
    every other request body.
    Interactions added, replaced or imported pass through `redact` first, as recordings do.
    `probes_only` (--no-admin) keeps health and ready alone: every other path is a 404.
    """
    app = FastAPI(
        title="virt admin API",
        version="1",
        openapi_url=None if probes_only else f"{PREFIX}/openapi.json",
        docs_url=None if probes_only else f"{PREFIX}/docs",
        redoc_url=None,
        responses={
            400: {"model": p.Error, "description": "The body is not valid JSON, or a bad value."},
            401: {"model": p.Error, "description": "Missing or wrong admin token."},
            403: {"model": p.Error, "description": "No token, and a web page sent the request."},
        },
    )
    app.state.admin = AdminState(
        engine=engine,
        clean=redact or _unchanged,
        rules_source=rules_source,
        token=token,
        host=host,
        max_body=max_body,
        faults=faults,
    )
    app.exception_handler(StoreReadOnly)(_read_only)
    app.exception_handler(StateUnavailable)(_state_unavailable)
    app.exception_handler(VirtError)(_virt_error)
    for router in (probes,) if probes_only else ROUTERS:
        app.include_router(router)
    app.add_middleware(BodyLimit, limit=max_body, streamed=frozenset({IMPORT_PATH}))
    return app


def _unchanged(interaction: Interaction) -> Interaction:
    return interaction


async def _read_only(request: Request, exc: StoreReadOnly) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=409)


async def _state_unavailable(request: Request, exc: StateUnavailable) -> JSONResponse:
    """Shared session state away (Redis down): the server is fine, try again later."""
    return JSONResponse({"detail": str(exc)}, status_code=503)


async def _virt_error(request: Request, exc: VirtError) -> JSONResponse:
    return JSONResponse({"detail": str(exc)}, status_code=400)
