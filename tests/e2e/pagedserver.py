"""A real paginated API: items by page number and page size, and Stripe-style customers by
cursor (`limit`, `starting_after`), the two ways of paging the fallback must follow."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import FastAPI, Query, Request
from fastapi.responses import JSONResponse

ITEMS: list[dict[str, Any]] = [
    {"id": n, "name": name, "price": round(1.5 * n + 0.99, 2)}
    for n, name in enumerate(
        [
            "Anvil",
            "Bellows",
            "Chisel",
            "Dowel",
            "Easel",
            "File",
            "Gimlet",
            "Hammer",
            "Inkwell",
            "Jigsaw",
            "Kettle",
            "Ladle",
            "Mallet",
            "Nail set",
            "Oilcan",
            "Plane",
            "Quill",
            "Rasp",
            "Saw",
            "Trowel",
            "Umbrella",
            "Vise",
            "Wrench",
            "Xylograph",
            "Yardstick",
        ],
        start=1,
    )
]
"""25 items: the recordings hold pages 1 and 2 of 10, so items 21 to 25 are never seen."""

CUSTOMERS: list[dict[str, Any]] = [
    {
        "id": f"cus_{n:02d}Qx7k9Lm2",
        "object": "customer",
        "email": f"{first.lower()}@example.com",
        "name": first,
        "created": 1767225600 + n * 86400,
    }
    for n, first in enumerate(["Ada", "Grace", "Edsger", "Barbara", "Donald", "Frances"], start=1)
]
"""Six customers: two pages of three, the second one the last."""

ISSUES: list[dict[str, Any]] = [
    {"id": 5000 + n, "number": n, "title": f"Issue {n}", "state": "open" if n % 3 else "closed"}
    for n in range(1, 13)
]
"""Twelve issues, GitHub-style: a bare list, and where the pages are is said in Link headers."""


def create_app() -> FastAPI:
    """The paginated API as a FastAPI app."""
    app = FastAPI()

    @app.get("/items")
    async def items(
        page: Annotated[int, Query(ge=1)] = 1, per_page: Annotated[int, Query(ge=1, le=100)] = 10
    ) -> JSONResponse:
        start = (page - 1) * per_page
        window = ITEMS[start : start + per_page]
        more = start + per_page < len(ITEMS)
        return JSONResponse(
            {
                "items": window,
                "page": page,
                "per_page": per_page,
                "total": len(ITEMS),
                "has_more": more,
                "next": f"/items?page={page + 1}&per_page={per_page}" if more else None,
            }
        )

    @app.get("/v1/customers")
    async def customers(
        limit: Annotated[int, Query(ge=1, le=100)] = 10, starting_after: str | None = None
    ) -> JSONResponse:
        ids = [c["id"] for c in CUSTOMERS]
        start = ids.index(starting_after) + 1 if starting_after in ids else 0
        window = CUSTOMERS[start : start + limit]
        return JSONResponse(
            {
                "object": "list",
                "data": window,
                "has_more": start + limit < len(CUSTOMERS),
                "url": "/v1/customers",
            }
        )

    @app.get("/repos/acme/widgets/issues")
    async def issues(
        request: Request,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=100)] = 30,
    ) -> JSONResponse:
        start = (page - 1) * per_page
        last = max(1, -(-len(ISSUES) // per_page))

        def link(n: int) -> str:
            return str(request.url.include_query_params(page=n, per_page=per_page))

        rels = [(page + 1, "next"), (last, "last")] if page < last else []
        rels += [(1, "first"), (page - 1, "prev")] if page > 1 else []
        headers = {"Link": ", ".join(f'<{link(n)}>; rel="{rel}"' for n, rel in rels)}
        return JSONResponse(ISSUES[start : start + per_page], headers=headers if rels else None)

    return app
