"""The direct door in-process: ReplayApp and the admin app over httpx's ASGI transport."""

from __future__ import annotations

import asyncio
import gzip
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import httpx
import orjson
import pytest

from virt.admin.api import create_admin
from virt.encoding import encode
from virt.match.engine import Engine
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.replay.app import ReplayApp
from virt.replay.routing import Route, Router
from virt.store import Store

T = TypeVar("T")

API = ("https", "api.example.com", 443)
BODY = b'{"id": 1, "name": "Ada", "bio": "' + b"x" * 400 + b'"}'


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    # opened in the test's thread, which is also the thread asyncio.run drives the app on
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def record(
    store: Store,
    method: str,
    path: str,
    response: Response,
    *,
    origin: tuple[str, str, int] = API,
    query: str = "",
    body: bytes = b"",
) -> int:
    request = Request(method, *origin, path, query, body=body)
    written = store.insert(Interaction(request, response), exact_key(request))
    assert written.id is not None
    return written.id


def drive(
    store: Store,
    talk: Callable[[httpx.AsyncClient], Awaitable[T]],
    routes: tuple[str, ...] = (),
) -> T:
    """Run `talk` against a fresh direct door on `store`, as `virt serve` builds it."""
    engine = Engine(store)
    app = ReplayApp(
        engine,
        Router([Route.parse(r) for r in routes], engine.origins),
        create_admin(engine, host="virt.test"),  # the Host the client below sends
    )

    async def main() -> T:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://virt.test") as client:
            return await talk(client)

    return asyncio.run(main())


def get(path: str, **kwargs: Any) -> Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]:
    async def talk(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get(path, **kwargs)

    return talk


def test_an_exact_match_returns_the_recorded_status_headers_and_body(store: Store) -> None:
    recorded_headers = (
        ("Content-Type", "application/json"),
        ("Set-Cookie", "a=1; Path=/"),
        ("x-lower-case", "kept"),
        ("Set-Cookie", "b=2; Path=/"),
        ("Content-Length", str(len(BODY))),
        ("X-Latin1", "caf\u00e9"),
    )
    id = record(
        store, "GET", "/users/1", Response(203, "Whatever", recorded_headers, BODY), query="v=1"
    )
    resp = drive(store, get("/users/1?v=1"))
    assert resp.status_code == 203
    assert resp.content == BODY
    assert resp.headers.raw == [
        *((k.encode("latin-1"), v.encode("latin-1")) for k, v in recorded_headers),
        (b"X-Virt-Match", b"exact"),
        (b"X-Virt-Recording", str(id).encode()),
    ]


def test_hop_by_hop_headers_are_not_replayed(store: Store) -> None:
    record(
        store,
        "GET",
        "/stream",
        Response(
            200,
            headers=(("Connection", "keep-alive"), ("Transfer-Encoding", "chunked"), ("A", "1")),
            body=b"chunk",
        ),
    )
    resp = drive(store, get("/stream"))
    names = [k.lower() for k, _ in resp.headers.raw]
    assert b"connection" not in names and b"transfer-encoding" not in names
    assert resp.headers["a"] == "1"
    assert resp.content == b"chunk"


def test_a_gzip_recording_is_sent_as_its_original_wire_bytes(store: Store) -> None:
    wire = gzip.compress(BODY, compresslevel=9, mtime=1_700_000_000)
    assert wire != encode(BODY, "gzip"), "the test needs bytes a re-encode would not produce"
    record(
        store,
        "GET",
        "/users/1",
        Response(
            200,
            headers=(("Content-Encoding", "gzip"), ("Content-Length", str(len(wire)))),
            body=BODY,
            encoding="gzip",
            wire_body=wire,
        ),
    )

    async def talk(client: httpx.AsyncClient) -> tuple[httpx.Response, bytes]:
        async with client.stream("GET", "/users/1") as resp:
            raw = b"".join([chunk async for chunk in resp.aiter_raw()])
        return resp, raw

    resp, raw = drive(store, talk)
    assert raw == wire
    assert resp.headers["content-length"] == str(len(wire))
    assert resp.headers["content-encoding"] == "gzip"


def test_a_gzip_recording_without_wire_bytes_is_re_encoded_the_same_every_time(
    store: Store,
) -> None:
    record(
        store,
        "GET",
        "/imported",
        Response(200, headers=(("Content-Encoding", "gzip"),), body=BODY, encoding="gzip"),
    )

    async def talk(client: httpx.AsyncClient) -> list[bytes]:
        out = []
        for _ in range(2):
            async with client.stream("GET", "/imported") as resp:
                out.append(b"".join([chunk async for chunk in resp.aiter_raw()]))
        return out

    first, second = drive(store, talk)
    assert first == second == encode(BODY, "gzip")
    assert gzip.decompress(first) == BODY


def test_head_gets_the_recorded_headers_and_no_body(store: Store) -> None:
    record(
        store,
        "HEAD",
        "/files/big",
        Response(200, headers=(("Content-Length", "123456"),), body=b"should never be sent"),
    )

    async def talk(client: httpx.AsyncClient) -> httpx.Response:
        return await client.head("/files/big")

    resp = drive(store, talk)
    assert resp.status_code == 200
    assert resp.content == b""
    assert resp.headers["content-length"] == "123456"
    assert resp.headers["x-virt-match"] == "exact"


def test_a_gzip_request_body_matches_the_decoded_recording(store: Store) -> None:
    record(store, "POST", "/search", Response(200, body=b"found"), body=b'{"q": "shoes"}')

    async def talk(client: httpx.AsyncClient) -> httpx.Response:
        return await client.post(
            "/search",
            content=gzip.compress(b'{"q": "shoes"}'),
            headers={"Content-Encoding": "gzip"},
        )

    resp = drive(store, talk)
    assert (resp.status_code, resp.content) == (200, b"found")


def test_a_miss_answers_599_with_a_report_naming_the_request_and_the_nearest(
    store: Store,
) -> None:
    near = record(store, "GET", "/users/1", Response(200, body=b"ada"))
    record(store, "GET", "/users/2", Response(404, body=b"no"))
    resp = drive(store, get("/users/3?expand=1"))
    assert resp.status_code == 599
    assert resp.headers["x-virt-match"] == "miss"
    assert resp.headers["content-type"] == "application/json"
    report = orjson.loads(resp.content)
    assert report["request"] == {
        "method": "GET",
        "url": "https://api.example.com/users/3?expand=1",
    }
    assert [n["id"] for n in report["nearest"]][:1] == [near]
    comparison = report["nearest"][0].pop("comparison")
    assert comparison["differs"]["path[2]"] == {"sent": "3", "recorded": "1"}
    assert comparison["score"] < 0.85
    # ranked by the scorer with every path segment counted: the closest first
    assert 0 < report["nearest"][0].pop("similarity") < 1
    assert report["nearest"][0] == {
        "id": near,
        "method": "GET",
        "url": "https://api.example.com/users/1",
        "status": 200,
        "diff": {
            "path": {"sent": "/users/3", "recorded": "/users/1"},
            "query": {"missing": [], "unexpected": ["expand"], "different": []},
        },
    }
    assert report["why"] and report["hint"]


def test_sequences_restart_after_an_admin_reset(store: Store) -> None:
    record(store, "GET", "/job", Response(200, body=b"pending"))
    record(store, "GET", "/job", Response(200, body=b"done"))

    async def talk(client: httpx.AsyncClient) -> list[bytes]:
        out = [(await client.get("/job")).content for _ in range(3)]
        reset = await client.post("/__virt/reset")
        assert reset.json() == {"reset": True}
        out.append((await client.get("/job")).content)
        return out

    assert drive(store, talk) == [b"pending", b"done", b"done", b"pending"]


def test_health_answers_with_the_number_of_recordings(store: Store) -> None:
    for n in range(3):
        record(store, "GET", f"/{n}", Response(200))
    resp = drive(store, get("/__virt/health"))
    assert resp.status_code == 200
    assert resp.json() == {"status": "ok", "interactions": 3}


def test_an_admin_path_never_reaches_the_recordings(store: Store) -> None:
    record(store, "GET", "/__virt/nothing", Response(200, body=b"recorded"))
    resp = drive(store, get("/__virt/nothing"))
    assert resp.status_code == 404
    assert "x-virt-match" not in resp.headers


def test_a_route_prefix_picks_the_upstream_and_strips_itself(store: Store) -> None:
    local = ("http", "127.0.0.1", 8081)
    record(store, "GET", "/v1/items", Response(200, body=b"local"), origin=local)
    record(store, "GET", "/v1/items", Response(200, body=b"api"))
    resp = drive(store, get("/svc/items"), routes=("/svc=http://127.0.0.1:8081/v1",))
    assert resp.content == b"local"


def test_a_host_header_picks_among_several_upstreams(store: Store) -> None:
    record(store, "GET", "/items", Response(200, body=b"local"), origin=("http", "127.0.0.1", 8081))
    record(store, "GET", "/items", Response(200, body=b"api"))
    assert drive(store, get("/items", headers={"Host": "api.example.com"})).content == b"api"
    local = drive(store, get("/items", headers={"Host": "127.0.0.1:8081"}))
    assert local.content == b"local"


def test_several_upstreams_and_no_way_to_choose_is_a_miss_that_says_why(store: Store) -> None:
    record(store, "GET", "/items", Response(200), origin=("http", "127.0.0.1", 8081))
    record(store, "GET", "/items", Response(200))
    resp = drive(store, get("/items"))
    assert resp.status_code == 599
    report = orjson.loads(resp.content)
    assert "2 upstreams are recorded" in report["why"]
    assert "--route" in report["why"]


def test_an_empty_database_misses_saying_it_is_empty(store: Store) -> None:
    resp = drive(store, get("/anything"))
    assert resp.status_code == 599
    assert orjson.loads(resp.content)["why"] == "the database has no recordings yet"


def test_a_non_utf8_request_path_is_percent_escaped_in_the_miss_report(store: Store) -> None:
    # httpx percent-encodes what it sends, so speak ASGI directly with the raw bytes a
    # hand-written client could put on the request line
    near = record(store, "GET", "/caf", Response(200))
    engine = Engine(store)
    app = ReplayApp(engine, Router([], engine.origins), create_admin(engine))
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/caf\u00e9",
        "raw_path": b"/caf\xe9",
        "query_string": b"",
        "headers": [(b"host", b"virt.test")],
    }
    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 599
    report = orjson.loads(sent[1]["body"])
    assert report["request"]["url"] == "https://api.example.com/caf%E9"
    assert report["why"].startswith("nothing was recorded for GET /caf%E9 on this host")
    assert [n["id"] for n in report["nearest"]] == [near]
