"""The admin API in-process: edits reach the running matcher at once; bad input gets a 4xx."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from virt.admin.api import create_admin
from virt.limits import DEFAULT_MAX_BODY
from virt.match.engine import Engine
from virt.replay.app import ReplayApp
from virt.replay.routing import Router
from virt.store import Store

T = TypeVar("T")
Client = httpx.AsyncClient
BINARY = {"Content-Type": "application/octet-stream"}

USER = {
    "request": {"method": "GET", "url": "https://api.example.com/users/1?fields=name"},
    "response": {
        "status": 200,
        "headers": [["Content-Type", "application/json"]],
        "body": '{"name": "Ada"}',
    },
    "tags": ["users"],
}


def run(
    db: Path,
    body: Callable[[Client], Awaitable[T]],
    token: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> T:
    """Run `body` against ReplayApp + admin on a store opened on the loop's own thread."""

    async def main() -> T:
        store = Store.open(db)
        try:
            engine = Engine(store)
            app = ReplayApp(
                engine,
                Router([], engine.origins),
                create_admin(engine, token=token, max_body=max_body),
            )
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1:8000"
            ) as c:
                return await body(c)
        finally:
            store.close()

    return asyncio.run(main())


def test_a_hand_written_interaction_answers_at_once(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        assert (await c.get("/users/1?fields=name")).status_code == 599
        created = await c.post("/__virt/interactions", json=USER)
        assert created.status_code == 201
        out = created.json()
        assert out["tags"] == ["users"]
        assert out["request"]["url"] == "https://api.example.com/users/1?fields=name"
        replayed = await c.get("/users/1?fields=name")
        assert replayed.status_code == 200
        assert replayed.json() == {"name": "Ada"}
        assert replayed.headers["x-virt-recording"] == str(out["id"])

    run(tmp_path / "a.db", body)


def test_patch_changes_the_replayed_answer_and_delete_removes_it(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        iid = (await c.post("/__virt/interactions", json=USER)).json()["id"]
        patched = await c.patch(
            f"/__virt/interactions/{iid}",
            json={"response": {"status": 404, "body": "gone"}, "tags": ["edited"]},
        )
        assert patched.status_code == 200
        assert patched.json()["tags"] == ["edited"]
        r = await c.get("/users/1?fields=name")
        assert (r.status_code, r.text) == (404, "gone")
        assert (await c.delete(f"/__virt/interactions/{iid}")).json() == {"deleted": iid}
        assert (await c.get("/users/1?fields=name")).status_code == 599
        assert (await c.get(f"/__virt/interactions/{iid}")).status_code == 404
        assert (await c.delete(f"/__virt/interactions/{iid}")).status_code == 404

    run(tmp_path / "a.db", body)


def test_put_replaces_the_exchange_and_keeps_where_it_came_from(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        first = (await c.post("/__virt/interactions", json=USER)).json()
        moved = {**USER, "request": {"method": "POST", "url": "https://api.example.com/users"}}
        put = (await c.put(f"/__virt/interactions/{first['id']}", json=moved)).json()
        assert put["request"]["method"] == "POST"
        assert (put["id"], put["seq"], put["recorded_at"]) == (
            first["id"],
            first["seq"],
            first["recorded_at"],
        )
        assert (await c.post("/users")).status_code == 200
        assert (await c.get("/users/1?fields=name")).status_code == 599

    run(tmp_path / "a.db", body)


def test_a_gzip_body_written_as_text_is_served_gzip_encoded(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        spec = json.loads(json.dumps(USER))
        spec["response"]["headers"].append(["Content-Encoding", "gzip"])
        await c.post("/__virt/interactions", json=spec)
        r = await c.get("/users/1?fields=name")
        assert r.headers["content-encoding"] == "gzip"
        assert r.json() == {"name": "Ada"}  # httpx decoded real gzip bytes

    run(tmp_path / "a.db", body)


def test_listing_filters_pages_and_searches(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        for n in range(5):
            spec = json.loads(json.dumps(USER))
            spec["request"]["url"] = f"https://api.example.com/users/{n}"
            spec["response"]["body"] = json.dumps({"name": f"user-{n}", "n": n})
            spec["tags"] = ["even"] if n % 2 == 0 else []
            await c.post("/__virt/interactions", json=spec)
        await c.post(
            "/__virt/interactions",
            json={
                "request": {"method": "POST", "url": "http://other.test/x"},
                "response": {"status": 500},
            },
        )
        page1 = (await c.get("/__virt/interactions", params={"limit": 4})).json()
        assert len(page1["items"]) == 4 and page1["next_cursor"] is not None
        page2 = (
            await c.get("/__virt/interactions", params={"limit": 4, "cursor": page1["next_cursor"]})
        ).json()
        assert [i["id"] for i in page1["items"] + page2["items"]] == [1, 2, 3, 4, 5, 6]
        assert page2["next_cursor"] is None

        async def ids(**params: Any) -> list[int]:
            r = await c.get("/__virt/interactions", params=params)
            assert r.status_code == 200, r.text
            return [i["id"] for i in r.json()["items"]]

        assert await ids(tag="even") == [1, 3, 5]
        assert await ids(host="other.test") == [6]
        assert await ids(method="POST") == [6]
        assert await ids(status=500) == [6]
        assert await ids(path="/users/[12]") == [2, 3]
        assert await ids(q="user-3") == [4]
        full = (await c.get("/__virt/interactions", params={"q": "user-3", "bodies": True})).json()
        assert json.loads(full["items"][0]["response"]["body"]) == {"name": "user-3", "n": 3}

    run(tmp_path / "a.db", body)


def test_binary_bodies_travel_as_base64(tmp_path: Path) -> None:
    blob = bytes(range(256))

    async def body(c: Client) -> None:
        import base64

        spec = {
            "request": {"method": "GET", "url": "https://cdn.example.com/logo.png"},
            "response": {"status": 200, "body_base64": base64.b64encode(blob).decode()},
        }
        out = (await c.post("/__virt/interactions", json=spec)).json()
        assert out["response"]["body"] is None
        assert base64.b64decode(out["response"]["body_base64"]) == blob
        assert (await c.get("/logo.png")).content == blob

    run(tmp_path / "a.db", body)


def test_journal_and_stats_report_what_was_served(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await c.post("/__virt/interactions", json=USER)
        await c.get("/users/1?fields=name")
        await c.get("/nope")
        journal = (await c.get("/__virt/journal")).json()["entries"]
        assert [(e["match"], e["status"]) for e in journal] == [("miss", 599), ("exact", 200)]
        assert journal[1]["interaction_id"] == 1
        assert journal[1]["door"] == "direct"
        misses = (await c.get("/__virt/journal", params={"match": "miss"})).json()["entries"]
        assert [e["url"] for e in misses] == ["https://api.example.com/nope"]
        stats = (await c.get("/__virt/stats")).json()
        assert stats["interactions"] == 1
        assert stats["hosts"] == {"api.example.com": 1}
        assert stats["served"] == {"exact": 1, "miss": 1}

    run(tmp_path / "a.db", body)


def test_reset_restarts_sequences(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        for state in ("pending", "done"):
            spec = json.loads(json.dumps(USER))
            spec["response"]["body"] = state
            await c.post("/__virt/interactions", json=spec)
        seen = [(await c.get("/users/1?fields=name")).text for _ in range(3)]
        assert seen == ["pending", "done", "done"]
        assert (await c.post("/__virt/reset")).json() == {"reset": True}
        assert (await c.get("/users/1?fields=name")).text == "pending"

    run(tmp_path / "a.db", body)


@pytest.mark.parametrize(
    ("spec", "field"),
    [
        ({**USER, "response": {"status": 99}}, "status"),
        ({**USER, "request": {"method": "GET", "url": "ftp://x/y"}}, "url"),
        ({**USER, "request": {"method": "G E T", "url": "http://x/y"}}, "method"),
        ({**USER, "response": {"status": 200, "headers": [["Bad Name", "v"]]}}, "headers"),
        ({**USER, "response": {"status": 200, "headers": [["X", "a\r\nInjected: 1"]]}}, "headers"),
        ({**USER, "response": {"status": 200, "body_base64": "***"}}, "body_base64"),
        ({**USER, "response": {"status": 200, "body": "a", "body_base64": "YQ=="}}, "response"),
        ({**USER, "unknown": 1}, "unknown"),
    ],
)
def test_bad_input_gets_a_4xx_naming_the_field(tmp_path: Path, spec: dict, field: str) -> None:
    async def body(c: Client) -> httpx.Response:
        return await c.post("/__virt/interactions", json=spec)

    r = run(tmp_path / "a.db", body)
    assert 400 <= r.status_code < 500
    assert field in r.text


def test_with_a_token_the_admin_api_needs_it_and_replay_does_not(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        assert (await c.get("/__virt/interactions")).status_code == 401
        wrong = await c.get("/__virt/interactions", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        assert wrong.headers["www-authenticate"] == "Bearer"
        auth = {"Authorization": "Bearer s3cret"}
        assert (await c.post("/__virt/interactions", json=USER, headers=auth)).status_code == 201
        assert (await c.get("/__virt/health")).status_code == 200
        assert (await c.get("/users/1?fields=name")).status_code == 200  # replay stays open

    run(tmp_path / "a.db", body, token="s3cret")


HAR = {
    "log": {
        "version": "1.2",
        "creator": {"name": "test", "version": "1"},
        "entries": [
            {
                "startedDateTime": "2024-01-02T03:04:05.000Z",
                "time": 1,
                "request": {
                    "method": "GET",
                    "url": "https://har.example.com/a?b=1",
                    "httpVersion": "HTTP/1.1",
                    "headers": [],
                    "queryString": [{"name": "b", "value": "1"}],
                    "cookies": [],
                    "headersSize": -1,
                    "bodySize": 0,
                },
                "response": {
                    "status": 201,
                    "statusText": "Created",
                    "httpVersion": "HTTP/1.1",
                    "headers": [{"name": "Content-Type", "value": "text/plain"}],
                    "cookies": [],
                    "content": {"size": 5, "mimeType": "text/plain", "text": "hello"},
                    "redirectURL": "",
                    "headersSize": -1,
                    "bodySize": 5,
                },
                "cache": {},
                "timings": {"send": 0, "wait": 1, "receive": 0},
            }
        ],
    }
}


def test_import_then_export_over_the_api(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        imported = await c.post(
            "/__virt/import",
            params={"filename": "site.har"},
            content=json.dumps(HAR).encode(),
            headers=BINARY,
        )
        assert imported.status_code == 200, imported.text
        report = imported.json()
        assert (report["imported"], report["by_format"]) == (1, {"har": 1})
        r = await c.get("/a?b=1")
        assert (r.status_code, r.text) == (201, "hello")
        got = (await c.get(f"/__virt/interactions/{report['ids'][0]}")).json()
        assert (got["source"], got["source_format"]) == ("site.har", "har")
        exported = await c.get("/__virt/export", params={"format": "har"})
        assert exported.status_code == 200
        entries = json.loads(exported.content)["log"]["entries"]
        assert [e["request"]["url"] for e in entries] == ["https://har.example.com/a?b=1"]
        broken = await c.post(
            "/__virt/import", params={"filename": "x.har"}, content=b"{nope", headers=BINARY
        )
        assert broken.status_code == 200
        assert broken.json()["failed"][0]["path"] == "x.har"  # never a server path
        assert (await c.get("/__virt/export", params={"format": "nope"})).status_code == 422

    run(tmp_path / "a.db", body)


def test_rules_can_be_read_and_replaced_while_serving(tmp_path: Path) -> None:
    drifting = {
        "request": {
            "method": "POST",
            "url": "https://api.example.com/v1/search",
            "headers": [["Content-Type", "application/json"]],
            "body": '{"q": "shoes", "sent": "monday"}',
        },
        "response": {"status": 200, "body": "hits"},
    }

    async def body(c: Client) -> None:
        assert (await c.post("/__virt/interactions", json=drifting)).status_code == 201
        shown = (await c.get("/__virt/rules")).json()
        assert shown["source"] is None
        assert shown["rules"]["match"]["threshold"] == 0.85
        sent = {"q": "shoes", "sent": "tuesday"}
        assert (await c.post("/v1/search", json=sent)).status_code == 599
        rule = {"route": [{"name": "search", "path": "/v1/search", "ignore": ["json:$.sent"]}]}
        put = await c.put("/__virt/rules", json=rule)
        assert put.status_code == 200
        assert put.json()["source"] == "admin API"
        assert put.json()["rules"]["route"] == [{**rule["route"][0]}]
        answered = await c.post("/v1/search", json=sent)
        assert (answered.status_code, answered.content) == (200, b"hits")
        assert answered.headers["x-virt-match"] == "fuzzy;score=1.00"
        entry = (await c.get("/__virt/journal?limit=1")).json()["entries"][0]
        assert entry["explain"]["rule"] == "search"
        assert entry["explain"]["comparison"]["ignored"] == ["body:$.sent"]
        bad = await c.put("/__virt/rules", json={"route": [{"path": "/x", "threshold": 3}]})
        assert bad.status_code == 400
        assert "body: route[0].threshold" in bad.json()["detail"]
        assert (await c.get("/__virt/rules")).json()["rules"]["route"][0]["name"] == "search"

    run(tmp_path / "rules.db", body)


def test_search_with_nul_characters_answers_instead_of_failing(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        assert (await c.post("/__virt/interactions", json=USER)).status_code == 201
        # a NUL separates words, as a space does: only NULs is no search at all
        for q, found in (("%00", 1), ("%00%00", 1), ("Ada%00", 1), ("a%00b", 0), ("%FF", 0)):
            r = await c.get(f"/__virt/interactions?q={q}")
            assert (r.status_code, len(r.json()["items"])) == (200, found), q

    run(tmp_path / "q.db", body)


def test_import_named_only_with_dots_is_a_400_naming_the_filename(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        for name in (".", "..", "..."):
            r = await c.post(
                "/__virt/import", params={"filename": name}, content=b"{}", headers=BINARY
            )
            assert r.status_code == 400, r.text
            assert r.json()["detail"].startswith(f"filename {name!r}: must hold a letter")

    run(tmp_path / "dots.db", body)


@pytest.mark.parametrize(
    "content_type",
    [None, "text/plain", "text/plain; charset=utf-8", "application/x-www-form-urlencoded",
     "multipart/form-data; boundary=x"],
)  # fmt: skip
def test_import_refuses_bodies_a_web_page_can_send_without_asking(
    tmp_path: Path, content_type: str | None
) -> None:
    async def body(c: Client) -> None:
        headers = {"Content-Type": content_type} if content_type else {}
        r = await c.post(
            "/__virt/import",
            params={"filename": "site.har"},
            content=json.dumps(HAR).encode(),
            headers=headers,
        )
        assert r.status_code == 415, r.text
        assert "application/octet-stream" in r.json()["detail"]
        assert (await c.get("/a?b=1")).status_code == 599  # nothing was imported

    run(tmp_path / "types.db", body)


def test_import_larger_than_its_declared_limit_is_refused_before_reading(tmp_path: Path) -> None:
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(8):
            pulled.append(1)
            yield b"x" * 1000

    async def body(c: Client) -> None:
        r = await c.post(
            "/__virt/import",
            params={"filename": "big.har"},
            content=chunks(),
            headers={**BINARY, "Content-Length": "8000"},
        )
        assert r.status_code == 413, r.text
        assert r.json()["detail"].startswith("an import is at most 4000 bytes: raise the limit")
        assert "--max-body or VIRT_MAX_BODY" in r.json()["detail"]
        assert pulled == []

    run(tmp_path / "declared.db", body, max_body=4000)


def test_chunked_import_is_cut_at_the_limit(tmp_path: Path) -> None:
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            pulled.append(1)
            yield b"x" * 1000

    async def body(c: Client) -> None:
        r = await c.post(
            "/__virt/import", params={"filename": "big.har"}, content=chunks(), headers=BINARY
        )
        assert r.status_code == 413, r.text
        assert len(pulled) <= 6  # read up to the limit, not the whole upload
        ok = await c.post(
            "/__virt/import",
            params={"filename": "site.har"},
            content=json.dumps(HAR).encode(),
            headers=BINARY,
        )
        assert ok.json()["imported"] == 1

    run(tmp_path / "chunked.db", body, max_body=5000)


def test_every_admin_body_has_the_limit_declared_or_streamed(tmp_path: Path) -> None:
    pulled: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            pulled.append(1)
            yield b" " * 1000

    async def body(c: Client) -> None:
        declared = await c.put(
            "/__virt/rules",
            content=b"{}" + b" " * 6000,
            headers={"Content-Type": "application/json"},
        )
        assert declared.status_code == 413
        assert declared.json() == {
            "detail": "an admin request body is at most 5000 bytes: "
            "raise the limit with --max-body or VIRT_MAX_BODY"
        }
        streamed = await c.post(
            "/__virt/interactions",
            content=chunks(),
            headers={"Content-Type": "application/json"},
        )
        assert streamed.status_code == 413
        assert len(pulled) <= 6
        assert (await c.post("/__virt/interactions", json=USER)).status_code == 201

    run(tmp_path / "limit.db", body, max_body=5000)
