"""A real API that drifts: started as recorded (`changed=False`) or changed in every way virt
drift reports, each change on a field or route of its own; `seed` draws the volatile values
(ids, timestamps, names, prices, rate-limit counters), so no two runs share them.

What `changed=True` changes, and nothing else:
- GET /profile: `phone` added, `nickname` removed, `age` an integer now a string, `bio` now null;
- GET /items: `status` takes a new enum value, "archived";
- GET /orders/7: answers 404 instead of 200;
- GET /events: paginated, an object holding the array instead of the array;
- GET /v1/legacy: a Sunset header.

GET /me needs `Authorization: Bearer …` and `?api_key=…`; every request's headers, query and
body are kept in `seen`, so a test can prove what reached the API.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

WORDS = ["ada", "grace", "edsger", "barbara", "donald", "frances", "ken", "radia", "alan"]


def create_app(*, changed: bool, seed: int, seen: list[str] | None = None) -> FastAPI:
    app = FastAPI()
    rng = random.Random(seed)
    log = seen if seen is not None else []

    def stamp() -> str:
        at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**7))
        return at.isoformat().replace("+00:00", "Z")

    def word() -> str:
        return rng.choice(WORDS) + str(rng.randrange(10, 99))

    @app.middleware("http")
    async def volatile_headers(request: Request, call_next: Any) -> Response:
        body = await request.body()
        log.append(f"{request.method} {request.url} {list(request.headers.items())} {body!r}")
        response: Response = await call_next(request)
        response.headers["X-RateLimit-Remaining"] = str(rng.randrange(1000))
        response.headers["X-Request-Id"] = f"req-{rng.randrange(10**9)}"
        response.headers["ETag"] = f'"{rng.randrange(10**9):x}"'
        response.headers["Cache-Control"] = "private, max-age=60"
        return response

    @app.get("/profile")
    async def profile() -> dict[str, Any]:
        answer: dict[str, Any] = {
            "id": rng.randrange(1, 10**6),
            "name": word(),
            "updated_at": stamp(),
            "age": rng.randrange(18, 90),
            "bio": " ".join(word() for _ in range(4)),
        }
        if changed:
            answer["age"] = str(answer["age"])
            answer["bio"] = None
            answer["phone"] = f"+1555{rng.randrange(10**6):06d}"
        else:
            answer["nickname"] = word()
        return answer

    @app.get("/items")
    async def items() -> list[dict[str, Any]]:
        states = ["active", "active", "inactive", "inactive", "active", "inactive"]
        if changed:
            states = ["active", "active", "inactive", "inactive", "archived", "archived"]
        return [
            {
                "id": rng.randrange(1, 10**6),
                "name": word(),
                "price": round(rng.uniform(1, 500), 2) + 0.01,
                "status": state,
                "created_at": stamp(),
                "owner": {"id": f"u-{rng.randrange(10**6)}", "login": word()},
            }
            for state in states
        ]

    @app.get("/orders/{order}")
    async def order(order: int) -> Response:
        if changed:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return JSONResponse({"id": order, "total": rng.randrange(100, 10**5), "placed": stamp()})

    @app.get("/events")
    async def events() -> Any:
        page = [{"id": rng.randrange(10**6), "at": stamp(), "kind": "login"} for _ in range(3)]
        if changed:
            return {"data": page, "next": f"/events?cursor={rng.randrange(10**9)}"}
        return page

    @app.get("/v1/legacy")
    async def legacy() -> Response:
        response = JSONResponse({"version": 1, "served_at": stamp()})
        if changed:
            response.headers["Sunset"] = "Wed, 01 Jul 2026 00:00:00 GMT"
        return response

    @app.get("/me")
    async def me(request: Request) -> Response:
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or not request.query_params.get("api_key"):
            return JSONResponse({"detail": "unauthorized"}, status_code=401)
        return JSONResponse({"login": word(), "since": stamp()})

    return app
