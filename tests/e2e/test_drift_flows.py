"""Flows whose requests drift between recording and replay, end to end through real virt
processes: a GraphQL client sending its variables in another order, a cursor-paginated API
walked with fresh cache-busters, POSTs carrying new Idempotency-Keys that the API echoes, and a
polled job with a fresh nonce on every call."""

from __future__ import annotations

import base64
import itertools
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.helpers import Upstream

ITEMS = [{"sku": f"sku-{n}", "price": n * 3} for n in range(7)]
USERS = {"u1": {"name": "Ada", "role": "admin"}, "u2": {"name": "Grace", "role": "dev"}}


def create_api() -> Starlette:
    """A small API with the shapes that drift: GraphQL, cursors, idempotent POSTs, a job."""
    payments: dict[str, dict[str, Any]] = {}
    polls = itertools.count()

    async def graphql(request: Request) -> JSONResponse:
        body = await request.json()
        v = body.get("variables") or {}
        user = USERS.get(v.get("id", ""))
        if user is None:
            return JSONResponse({"data": {"user": None}})
        fields = {"id": v["id"], "name": user["name"]}
        if v.get("withRole"):
            fields["role"] = user["role"]
        return JSONResponse({"data": {"user": fields}})

    async def items(request: Request) -> JSONResponse:
        limit = int(request.query_params.get("limit", "3"))
        cursor = request.query_params.get("cursor")
        start = int(base64.urlsafe_b64decode(cursor).decode()) if cursor else 0
        page = ITEMS[start : start + limit]
        end = start + limit
        more = end < len(ITEMS)
        next_cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if more else None
        return JSONResponse({"items": page, "next_cursor": next_cursor})

    async def pay(request: Request) -> JSONResponse:
        key = request.headers["idempotency-key"]
        body = await request.json()
        if key not in payments:
            payments[key] = {
                "id": f"pay_{len(payments) + 1}",
                "idempotency_key": key,
                "amount": body["amount"],
                "reference": body["reference"],
                "status": "succeeded",
            }
        return JSONResponse(payments[key], 201, headers={"Idempotency-Key": key})

    async def job(request: Request) -> JSONResponse:
        n = next(polls)
        return JSONResponse({"state": "done" if n >= 2 else "pending", "poll": n})

    return Starlette(
        routes=[
            Route("/graphql", graphql, methods=["POST"]),
            Route("/items", items),
            Route("/payments", pay, methods=["POST"]),
            Route("/jobs/42", job),
        ]
    )


USER_QUERY = """
query User($id: ID!, $withRole: Boolean!) {
  user(id: $id) { id name role @include(if: $withRole) }
}
"""


def graphql_call(client: httpx.Client, base: str, variables: dict[str, Any]) -> Any:
    """What a GraphQL client sends: operationName, the document and variables, as JSON."""
    body = {"operationName": "User", "query": USER_QUERY, "variables": variables}
    return client.post(f"{base}/graphql", json=body)


def walk_items(client: httpx.Client, base: str) -> tuple[list[Any], list[httpx.Response]]:
    """Page through /items by cursor, with a fresh cache-buster on every call."""
    out, responses, cursor = [], [], None
    while True:
        params = {"limit": "3", "_": str(time.time_ns())}
        if cursor:
            params["cursor"] = cursor
        resp = client.get(f"{base}/items", params=params)
        responses.append(resp)
        page = resp.json()
        out.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return out, responses


def pay(client: httpx.Client, base: str, amount: int, key: str, reference: str) -> httpx.Response:
    return client.post(
        f"{base}/payments",
        json={"amount": amount, "reference": reference},
        headers={"Idempotency-Key": key},
    )


def poll(client: httpx.Client, base: str, times: int, session: str = "") -> list[str]:
    headers = {"X-Virt-Session": session} if session else {}
    return [
        client.get(f"{base}/jobs/42", params={"nonce": str(uuid.uuid4())}, headers=headers).json()[
            "state"
        ]
        for _ in range(times)
    ]


@dataclass
class Recorded:
    db: Path
    items: list[Any]
    payment: dict[str, Any]


@pytest.fixture
def recorded(virt: Any, tmp_path: Path) -> Iterator[Recorded]:
    upstream = Upstream(create_api()).start()
    db = tmp_path / "drift.db"
    proc, port = virt.record(db)
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=10) as client:
            base = upstream.url
            graphql_call(client, base, {"id": "u1", "withRole": True}).raise_for_status()
            graphql_call(client, base, {"id": "u2", "withRole": False}).raise_for_status()
            items, _ = walk_items(client, base)
            first = pay(client, base, 1200, f"idem-{uuid.uuid4()}", f"order-{uuid.uuid4()}")
            assert first.status_code == 201
            assert poll(client, base, 3) == ["pending", "pending", "done"]
    finally:
        assert proc.stop() == 0, proc.output()
        upstream.stop()
    yield Recorded(db, items, first.json())


@pytest.fixture
def replay(virt: Any, recorded: Recorded) -> Iterator[str]:
    _, port, _ = virt.serve(recorded.db)
    yield f"http://127.0.0.1:{port}"


def journal(base: str) -> list[dict[str, Any]]:
    return list(
        reversed(httpx.get(f"{base}/__virt/journal", params={"limit": 1000}).json()["entries"])
    )


def test_a_graphql_client_with_reordered_variables_and_document_spacing_is_matched(
    replay: str,
) -> None:
    with httpx.Client(timeout=10) as client:
        reordered = {"withRole": True, "id": "u1"}
        body = {
            "variables": reordered,
            "query": " ".join(USER_QUERY.split()),  # another spacing of the same document
            "operationName": "User",
        }
        resp = client.post(
            f"{replay}/graphql",
            content=orjson.dumps(body),
            headers={"Content-Type": "application/json"},
        )
        assert resp.json() == {"data": {"user": {"id": "u1", "name": "Ada", "role": "admin"}}}
        assert resp.headers["x-virt-match"].startswith("fuzzy")
        other = graphql_call(client, replay, {"withRole": False, "id": "u2"})
        assert other.json() == {"data": {"user": {"id": "u2", "name": "Grace"}}}
        unknown = graphql_call(client, replay, {"id": "u3", "withRole": True})
        # a user never recorded is not someone else's answer: it is made up, says so, and
        # carries the id asked for
        assert unknown.headers["x-virt-match"] == "fallback;source=template"
        assert unknown.json()["data"]["user"]["id"] == "u3"


def test_a_cursor_paginated_api_is_walked_with_fresh_cache_busters(
    replay: str, recorded: Recorded
) -> None:
    with httpx.Client(timeout=10) as client:
        items, responses = walk_items(client, replay)
    assert items == recorded.items == ITEMS
    assert [r.status_code for r in responses] == [200, 200, 200]
    for r in responses:
        match = r.headers["x-virt-match"]
        assert match.startswith("fuzzy;score="), match
        assert float(match.split("=")[1]) >= 0.85
    entries = [e for e in journal(replay) if "/items" in e["url"]]
    assert all(e["explain"]["comparison"]["differs"].keys() == {"query:_"} for e in entries)


def test_a_new_idempotency_key_and_reference_are_echoed_back(
    replay: str, recorded: Recorded
) -> None:
    key, reference = f"idem-{uuid.uuid4()}", f"order-{uuid.uuid4()}"
    with httpx.Client(timeout=10) as client:
        resp = pay(client, replay, 1200, key, reference)
    assert resp.status_code == 201
    assert resp.json() == {**recorded.payment, "idempotency_key": key, "reference": reference}
    assert resp.headers["idempotency-key"] == key
    assert int(resp.headers["content-length"]) == len(resp.content)
    (entry,) = [e for e in journal(replay) if e["url"].endswith("/payments")]
    assert entry["explain"]["echoed"] == ["body:$.reference", "header:idempotency-key"]


def test_a_different_amount_is_not_answered_with_the_recorded_payment(
    replay: str, recorded: Recorded
) -> None:
    key, reference = f"idem-{uuid.uuid4()}", f"order-{uuid.uuid4()}"
    with httpx.Client(timeout=10) as client:
        resp = pay(client, replay, 99, key, reference)
    # no recording answers it (the amount differs): the fallback says so, and its answer
    # carries the amount sent, never the recorded 1200
    assert resp.headers["x-virt-match"] == "fallback;source=template"
    assert resp.status_code == 201
    assert resp.json()["amount"] == 99 != recorded.payment["amount"]
    assert resp.json()["reference"] == reference
    (entry,) = [e for e in journal(replay) if e["url"].endswith("/payments")]
    assert entry["match"] == "fallback"
    assert entry["explain"]["comparison"]["differs"]["body:$.amount"] == {
        "sent": "99",
        "recorded": "1200",
    }


def test_a_job_polled_with_fresh_nonces_walks_its_sequence_per_session(replay: str) -> None:
    with httpx.Client(timeout=10) as client:
        a = poll(client, replay, 2, session="a")
        b = poll(client, replay, 4, session="b")
        a += poll(client, replay, 2, session="a")
    assert a == ["pending", "pending", "done", "done"]
    assert b == ["pending", "pending", "done", "done"]
    entries = [e for e in journal(replay) if "/jobs/42" in e["url"]]
    assert {e["match"] for e in entries} == {"fuzzy"}
    assert all(e["explain"]["score"] == 1.0 for e in entries)  # the nonce was learned volatile
