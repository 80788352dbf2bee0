"""What every admin route works on: the engine, its store, the redactor, and who may ask."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from virt.admin.access import browser_refusal
from virt.faults import FaultLog
from virt.match.engine import Engine
from virt.model import Interaction
from virt.store import Store

PREFIX = "/__virt"
_bearer = HTTPBearer(auto_error=False, description="The token given with --admin-token.")


@dataclass(frozen=True, slots=True, kw_only=True)
class AdminState:
    """One admin app's settings, kept on `app.state.admin` by create_admin."""

    engine: Engine
    clean: Callable[[Interaction], Interaction]
    """Interactions added, replaced or imported pass through it first, as recordings do."""
    rules_source: str | None
    """Where the rules in force came from (a virt.toml path), for GET /__virt/rules."""
    token: str | None
    host: str | None
    """The --host virt listens on: a Host header naming it is not a web page's doing."""
    max_body: int
    faults: FaultLog | None = None
    """The fault plan in force and its report (/__virt/faults); None: not taken here."""

    @property
    def store(self) -> Store:
        return self.engine.store


def admin_state(request: Request) -> AdminState:
    """The AdminState of the app serving `request`."""
    state: AdminState = request.app.state.admin
    return state


State = Annotated[AdminState, Depends(admin_state)]
"""The parameter every route takes to reach the engine and the store."""


async def check_token(
    request: Request,
    state: State,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """With a token, require `Authorization: Bearer <token>`; without one, refuse what a web
    page could send (see virt.admin.access)."""
    if state.token is None:
        if (why := browser_refusal(request.headers, state.host)) is not None:
            raise HTTPException(403, why)
        return
    given = credentials.credentials if credentials else ""
    if not hmac.compare_digest(given.encode(), state.token.encode()):
        raise HTTPException(401, "missing or wrong admin token", {"WWW-Authenticate": "Bearer"})
