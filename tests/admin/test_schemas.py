"""GET /__virt/schemas over a real recording set (octokit's fixtures of the GitHub API): the
learned schemas per route, a page at a time, filtered; a route of bytes says why it gets no
fallback; with and without the fallback stage; the operations of stored OpenAPI documents."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from tests.formats.corpus import require_corpus
from virt.admin.api import create_admin
from virt.config import read_config
from virt.match.engine import Engine
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.replay.app import ReplayApp
from virt.replay.routing import Router
from virt.schema.fallback import Fallback
from virt.schema.openapi import documents
from virt.state import SessionState
from virt.store import Store
from virt.transfer import Importer

T = TypeVar("T")
Client = httpx.AsyncClient
PETSTORE = Path(__file__).parents[1] / "data" / "petstore-3.0.yaml"
OCTOKIT = "nock/octokit__fixtures"
REPOSITORY = "GET https://api.github.com:443/repositories/{id}"
PACK = "POST https://git.example.com:443/repo.git/git-upload-pack"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """octokit's GitHub fixtures imported as `virt import` does, and a git fetch whose
    answers are packs."""
    db = tmp_path_factory.mktemp("schemas") / "github.db"
    with Importer(db, read_config(None)) as importer:
        report = importer.run([require_corpus() / OCTOKIT])
    assert report.imported > 100 and not report.failed
    store = Store.open(db)
    try:
        for want in (b"0032want 1111", b"0032want 2222"):
            request = Request(
                "POST",
                "https",
                "git.example.com",
                443,
                "/repo.git/git-upload-pack",
                headers=(("Content-Type", "application/x-git-upload-pack-request"),),
                body=want,
            )
            answer = Response(
                200,
                headers=(("Content-Type", "application/x-git-upload-pack-result"),),
                body=b"0008NAK\nPACK\x00\x00\x00\x02" + want,
            )
            store.insert(Interaction(request, answer), keys(request))
    finally:
        store.close()
    return db


@pytest.fixture
def db(recorded: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "github.db"
    shutil.copy(recorded, copy)
    return copy


def _with_fallback(s: Store, state: SessionState) -> Fallback:
    return Fallback(s, state, documents(s, ()))


def run(
    db: Path,
    body: Callable[[Client], Awaitable[T]],
    *,
    fallback: bool = True,
    token: str | None = None,
) -> T:
    """Run `body` against the replay app and the admin API, the fallback stage on or off."""

    async def main() -> T:
        store = Store.open(db)
        try:
            engine = Engine(store, fallback=_with_fallback if fallback else None)
            app = ReplayApp(engine, Router([], engine.origins), create_admin(engine, token=token))
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1:8000"
            ) as c:
                return await body(c)
        finally:
            store.close()

    return asyncio.run(main())


async def _get(c: Client, **params: Any) -> dict[str, Any]:
    got = await c.get("/__virt/schemas", params=params)
    assert got.status_code == 200, got.text
    data: dict[str, Any] = got.json()
    return data


def test_schemas_show_a_routes_learned_request_query_and_response_schemas(db: Path) -> None:
    async def body(c: Client) -> dict[str, Any]:
        return await _get(c, route="GET /repositories/1000")

    listed = run(db, body)
    assert listed["fallback"] is True and listed["total"] == 1
    (route,) = listed["routes"]
    assert route["route"] == REPOSITORY
    assert (route["method"], route["origin"]) == ("GET", "https://api.github.com:443")
    assert route["template"] == "/repositories/{id}"
    assert (route["recordings"], route["success"], route["structured"]) == (2, 200, True)
    assert (route["fallback"], route["why"]) == (True, None)
    answer = route["responses"]["200"]
    assert answer["type"] == "object"
    assert {"id", "name", "full_name", "owner"} <= set(answer["required"])
    assert answer["properties"]["id"]["type"] == "integer"
    assert route["query"]["type"] == "object" and route["request"] is None


def test_a_route_whose_answers_are_bytes_says_it_gets_no_fallback_and_why(db: Path) -> None:
    async def body(c: Client) -> dict[str, Any]:
        return await _get(c, host="git.example.com")

    (route,) = run(db, body)["routes"]
    assert route["route"] == PACK
    assert (route["structured"], route["fallback"]) == (False, False)
    assert "not JSON" in route["why"] and "stay misses" in route["why"]
    assert route["responses"] == {}


def test_schemas_come_a_page_at_a_time_sorted_and_filtered(db: Path) -> None:
    async def body(c: Client) -> tuple[list[dict[str, Any]], list[str], dict[str, Any]]:
        whole = await _get(c, limit=1000)
        names: list[str] = []
        cursor: str | None = None
        while True:
            page = await _get(c, limit=7, **({"cursor": cursor} if cursor else {}))
            assert len(page["routes"]) <= 7 and page["total"] == whole["total"]
            names += [r["route"] for r in page["routes"]]
            cursor = page["next_cursor"]
            if cursor is None:
                break
        uploads = await _get(c, host="uploads.github.com")
        return whole["routes"], names, uploads

    whole, paged, uploads = run(db, body)
    assert len(whole) > 100 and PACK in [r["route"] for r in whole]
    assert paged == [r["route"] for r in whole]  # every route once, in one order
    keys_ = [(r["origin"], r["template"], r["method"]) for r in whole]
    assert keys_ == sorted(keys_)
    assert uploads["total"] == len(uploads["routes"]) >= 2
    assert all(r["origin"] == "https://uploads.github.com:443" for r in uploads["routes"])


def test_schemas_with_the_fallback_stage_off_still_show_and_say_it_is_off(db: Path) -> None:
    async def body(c: Client) -> dict[str, Any]:
        return await _get(c, route=REPOSITORY)

    listed = run(db, body, fallback=False)
    assert listed["fallback"] is False
    (route,) = listed["routes"]
    assert route["responses"]["200"]["type"] == "object"
    assert route["fallback"] is False and "--no-fallback" in route["why"]


@pytest.mark.parametrize("fallback", [True, False], ids=["stage-on", "stage-off"])
def test_schemas_list_the_operations_of_stored_openapi_documents(db: Path, fallback: bool) -> None:
    store = Store.open(db)
    store.add_document("openapi", "petstore.yaml", PETSTORE.read_bytes())
    store.close()

    async def body(c: Client) -> tuple[dict[str, Any], dict[str, Any], str]:
        one = await _get(c, route="GET /api/v2/pets/42")
        every = await c.get("/__virt/schemas", params={"limit": 3})
        return one, every.json(), every.text

    one, every, text = run(db, body, fallback=fallback)
    (document,) = one["documents"]
    assert (document["name"], document["title"], document["version"]) == (
        "petstore.yaml",
        "Petstore",
        "2.1.0",
    )
    (op,) = document["operations"]
    assert op["route"] == "GET /api/v2/pets/{petId}"
    assert op["success"] == 200 and 200 in op["statuses"]
    (listed,) = every["documents"]
    assert listed["total"] == 7 and len(listed["operations"]) == 3
    assert str(db.parent) not in text  # where the server keeps its files is not shown


def test_schemas_need_the_admin_token_like_every_admin_route(db: Path) -> None:
    async def body(c: Client) -> tuple[int, int, int]:
        none = await c.get("/__virt/schemas")
        wrong = await c.get("/__virt/schemas", headers={"Authorization": "Bearer nope"})
        right = await c.get("/__virt/schemas", headers={"Authorization": "Bearer s3cret"})
        return none.status_code, wrong.status_code, right.status_code

    assert run(db, body, token="s3cret") == (401, 401, 200)


def test_schemas_refuse_a_bad_limit_or_cursor_with_a_4xx(db: Path) -> None:
    async def body(c: Client) -> list[int]:
        asked = [{"limit": 0}, {"limit": 1001}, {"cursor": "-1"}, {"route": "x" * 501}]
        return [(await c.get("/__virt/schemas", params=q)).status_code for q in asked]

    assert run(db, body) == [422, 422, 422, 422]
