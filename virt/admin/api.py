"""The admin API: a FastAPI app mounted at /__virt/ on the direct door."""

from __future__ import annotations

from fastapi import FastAPI
from pydantic import BaseModel

from virt.match.engine import Engine


class Health(BaseModel):
    status: str
    interactions: int


class Reset(BaseModel):
    reset: bool


def create_admin(engine: Engine) -> FastAPI:
    """The admin app. Routes keep the /__virt/ prefix: the replay app hands requests over as is."""
    app = FastAPI(
        title="virt admin API",
        openapi_url="/__virt/openapi.json",
        docs_url="/__virt/docs",
        redoc_url=None,
    )

    @app.get("/__virt/health")
    async def health() -> Health:
        """The server is up and its database is readable."""
        return Health(status="ok", interactions=engine.store.count())

    @app.get("/__virt/ready")
    async def ready() -> Health:
        """Both doors are accepting requests."""
        return Health(status="ready", interactions=engine.store.count())

    @app.post("/__virt/reset")
    async def reset() -> Reset:
        """Restart every recorded sequence from its first response."""
        engine.reset()
        return Reset(reset=True)

    return app
