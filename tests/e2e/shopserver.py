"""A real shop API with the two request shapes whose values a fallback must carry: Stripe-style
charges (form-encoded, with an Idempotency-Key) and a GraphQL endpoint run by graphql-core."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
from typing import Any
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from graphql import build_schema, graphql_sync

SDL = """
type User { id: ID! name: String! email: String! }
type Product { id: ID! title: String! price: Float! }
type Search { term: String! total: Int! products: [Product!]! }
type Query {
  user(id: ID!): User
  search(term: String!, first: Int!): Search!
}
"""

USERS = {
    "u1": {"id": "u1", "name": "Ada Lovelace", "email": "ada@example.com"},
    "u2": {"id": "u2", "name": "Grace Hopper", "email": "grace@example.com"},
    "u3": {"id": "u3", "name": "Edsger Dijkstra", "email": "edsger@example.com"},
}
PRODUCTS = [
    {"id": f"p{n}", "title": title, "price": price}
    for n, (title, price) in enumerate(
        [
            ("Desk lamp", 34.5),
            ("Floor lamp", 89.0),
            ("Lamp shade", 12.25),
            ("Standing desk", 420.0),
            ("Desk chair", 150.0),
            ("Oak desk", 310.0),
            ("Chair cushion", 19.99),
            ("Bookshelf", 99.0),
        ],
        start=1,
    )
]

USER_QUERY = "query User($id: ID!) { user(id: $id) { id name email } }"
SEARCH_QUERY = (
    "query Search($term: String!, $first: Int!) "
    "{ search(term: $term, first: $first) { term total products { id title price } } }"
)


def _user(info: Any, id: str) -> dict[str, str] | None:
    return USERS.get(id)


def _search(info: Any, term: str, first: int) -> dict[str, Any]:
    found = [p for p in PRODUCTS if term.lower() in str(p["title"]).lower()]
    return {"term": term, "total": len(found), "products": found[:first]}


def create_app() -> FastAPI:
    """The shop as a FastAPI app, with its own charges: a fresh app has made none."""
    app = FastAPI()
    schema = build_schema(SDL)
    charges: dict[str, dict[str, Any]] = {}
    requests = itertools.count(1)

    @app.post("/v1/charges")
    async def charge(request: Request) -> JSONResponse:
        key = request.headers.get("idempotency-key", "")
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        if not key or not form.get("amount", "").isdigit() or "currency" not in form:
            return JSONResponse({"error": {"type": "invalid_request_error"}}, 400)
        if key not in charges:
            charges[key] = {
                "id": "ch_" + hashlib.sha256(key.encode()).hexdigest()[:24],
                "object": "charge",
                "amount": int(form["amount"]),
                "currency": form["currency"],
                "description": form.get("description", ""),
                "status": "succeeded",
            }
        headers = {"Idempotency-Key": key, "Request-Id": f"req_{next(requests):014d}"}
        return JSONResponse(charges[key], headers=headers)

    @app.get("/v1/jobs/{job}")
    async def job(job: str) -> JSONResponse:
        # a polled export job: done, with a log long enough to cut in half
        return JSONResponse({"id": job, "object": "job", "status": "done", "log": "ok " * 700})

    @app.get("/v1/balance")
    async def balance(request: Request) -> JSONResponse:
        if request.headers.get("x-burst"):  # Stripe's rate limit answer, as recorded
            error = {"error": {"type": "rate_limit_error", "message": "Too many requests"}}
            return JSONResponse(error, 429, headers={"Retry-After": "7"})
        return JSONResponse({"object": "balance", "available": [{"amount": 1200}]})

    @app.get("/v1/slow")
    async def slow() -> JSONResponse:
        await asyncio.sleep(0.3)  # an upstream that takes its time: --latency replays it
        return JSONResponse({"object": "report", "ready": True})

    @app.post("/graphql")
    async def graphql(request: Request) -> JSONResponse:
        body = await request.json()
        result = graphql_sync(
            schema,
            body["query"],
            root_value={"user": _user, "search": _search},
            variable_values=body.get("variables"),
            operation_name=body.get("operationName"),
        )
        out: dict[str, Any] = {"data": result.data}
        if result.errors:
            out["errors"] = [e.formatted for e in result.errors]
        return JSONResponse(out)

    return app
