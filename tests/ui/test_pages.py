"""The web page in-process: what each view lists, its deep links, its security headers, and the
admin API's access rule over it."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import httpx

from virt.admin.api import create_admin
from virt.faults import FaultLog, parse_plan
from virt.match.engine import Engine
from virt.replay.app import ReplayApp
from virt.replay.idempotency import Idempotency
from virt.replay.respond import Replayer
from virt.replay.routing import Router
from virt.store import Store
from virt.ui import UI, add_ui

T = TypeVar("T")
Client = httpx.AsyncClient
HOSTILE = '{"name": "<script>alert(1)</script>", "img": "<img src=x onerror=alert(2)>"}'


def run(db: Path, body: Callable[[Client], Awaitable[T]], token: str | None = None) -> T:
    """Run `body` against the replay app with the admin API and the page, in-process."""

    async def main() -> T:
        store = Store.open(db)
        try:
            engine = Engine(store)
            admin = create_admin(engine, token=token)
            add_ui(admin)
            app = ReplayApp(engine, Router([], engine.origins), admin)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1:8000"
            ) as c:
                return await body(c)
        finally:
            store.close()

    return asyncio.run(main())


def recording(url: str, body: str = '{"id": 1}', **extra: Any) -> dict[str, Any]:
    response = {"status": 200, "headers": [["Content-Type", "application/json"]], "body": body}
    response.update(extra.pop("response", {}))
    return {"request": {"method": "GET", "url": url}, "response": response, **extra}


async def add(c: Client, *interactions: dict[str, Any]) -> None:
    for i in interactions:
        r = await c.post("/__virt/interactions", json=i)
        assert r.status_code == 201, r.text


def test_every_page_sends_a_content_security_policy_and_nosniff(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await add(c, recording("http://api.example.com/users/1"))
        await c.get("/users/2", headers={"Host": "api.example.com"})
        for path in ("", "/recordings", "/recordings/1", "/routes", "/journal/1", "/recordings/9"):
            r = await c.get(UI + path)
            assert r.headers["content-type"].startswith("text/html"), path
            assert "script-src 'self'" in r.headers["content-security-policy"], path
            assert "default-src 'none'" in r.headers["content-security-policy"], path
            assert r.headers["x-content-type-options"] == "nosniff", path
            assert "<script>" not in r.text.replace('<script src="/__virt/ui/static/ui.js"', "")

    run(tmp_path / "a.db", body)


def test_a_recorded_body_with_markup_is_escaped_never_rendered(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await add(c, recording("http://api.example.com/users/1?<b>=1", HOSTILE))
        page = (await c.get(f"{UI}/recordings/1")).text
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "<img src=x" not in page
        assert "<b>" not in page
        listing = (await c.get(f"{UI}/recordings")).text
        assert "&lt;b&gt;" in listing

    run(tmp_path / "a.db", body)


def test_an_image_body_is_served_with_its_recorded_type_and_runs_nothing(tmp_path: Path) -> None:
    png = (
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQ"
        "AAAABJRU5ErkJggg=="
    )

    async def body(c: Client) -> None:
        image = recording("http://cdn.example.com/a.png")
        image["response"] = {
            "status": 200,
            "headers": [["Content-Type", "image/png"]],
            "body_base64": png,
        }
        await add(c, image)
        r = await c.get(f"{UI}/recordings/1/response/body")
        assert r.headers["content-type"] == "image/png"
        assert r.content.startswith(b"\x89PNG")
        assert "sandbox" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        page = (await c.get(f"{UI}/recordings/1")).text
        assert '<img class="body-image" src="/__virt/ui/recordings/1/response/body"' in page

    run(tmp_path / "a.db", body)


def test_a_recorded_html_body_is_served_as_an_attachment_never_as_a_page(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        html = recording("http://api.example.com/", "<script>alert(1)</script>")
        html["response"]["headers"] = [["Content-Type", "text/html"]]
        await add(c, html)
        r = await c.get(f"{UI}/recordings/1/response/body")
        assert r.headers["content-type"] == "application/octet-stream"
        assert r.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in r.headers["content-security-policy"]

    run(tmp_path / "a.db", body)


def test_recordings_are_paged_by_id_with_a_deep_link_to_the_next_page(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await add(c, *(recording(f"http://api.example.com/items/{n}") for n in range(1, 121)))
        first = (await c.get(f"{UI}/recordings?host=api.example.com")).text
        assert _ids(first) == list(range(1, 51))
        nxt = re.search(r'rel="next" href="([^"]+)"', first)
        assert nxt is not None
        assert (
            nxt.group(1).replace("&amp;", "&") == f"{UI}/recordings?host=api.example.com&after=50"
        )
        second = (await c.get(nxt.group(1).replace("&amp;", "&"))).text
        assert _ids(second) == list(range(51, 101))
        last = (await c.get(f"{UI}/recordings?host=api.example.com&after=100")).text
        assert _ids(last) == list(range(101, 121))
        assert 'rel="next"' not in last

    run(tmp_path / "a.db", body)


def _ids(page: str) -> list[int]:
    return [
        int(n) for n in re.findall(r'<tr class="row" data-href="/__virt/ui/recordings/(\d+)"', page)
    ]


def test_recordings_are_searched_and_filtered_by_status_tag_and_session(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await add(
            c,
            recording("http://api.example.com/a", '{"colour": "vermilion"}', tags=["red"]),
            recording("http://api.example.com/b", '{"colour": "teal"}', session="s2"),
            recording("http://api.example.com/c", "{}", response={"status": 404}),
        )
        assert _ids((await c.get(f"{UI}/recordings?q=vermilion")).text) == [1]
        assert _ids((await c.get(f"{UI}/recordings?tag=red")).text) == [1]
        assert _ids((await c.get(f"{UI}/recordings?session=s2")).text) == [2]
        assert _ids((await c.get(f"{UI}/recordings?status=404")).text) == [3]
        assert _ids((await c.get(f"{UI}/recordings?path=/b")).text) == [2]


def test_recordings_are_filtered_by_route_template(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await add(
            c,
            recording("http://api.example.com/users/1"),
            recording("http://api.example.com/orders/1"),
            recording("http://api.example.com/users/2"),
        )
        assert _ids((await c.get(f"{UI}/recordings?path=/users/{{id}}")).text) == [1, 3]

    run(tmp_path / "a.db", body)


def test_the_journal_lists_each_answer_newest_first_and_the_live_feed_only_newer_ones(
    tmp_path: Path,
) -> None:
    async def body(c: Client) -> None:
        await add(c, recording("http://api.example.com/users/1"))
        host = {"Host": "api.example.com"}
        await c.get("/users/1", headers=host)
        await c.get("/orders/7", headers=host)
        page = (await c.get(UI)).text
        assert page.index("/orders/7") < page.index("/users/1")
        assert 'data-count="miss">1<' in page and 'data-count="exact">1<' in page
        misses = (await c.get(f"{UI}?kind=miss")).text
        assert "/orders/7" in misses and "/users/1" not in misses
        assert "/users/1" in (await c.get(f"{UI}?path=users")).text
        assert "/users/1" not in (await c.get(f"{UI}?method=POST")).text
        await c.get("/orders/8", headers=host)
        live = (await c.get(f"{UI}/journal/live?after=2")).json()
        assert "/orders/8" in live["rows"] and "/orders/7" not in live["rows"]
        assert live["last"] == 3
        assert live["counts"]["miss"] == 2
        quiet = (await c.get(f"{UI}/journal/live?after=3")).json()
        assert quiet["rows"].strip() == "" and quiet["last"] == 3

    run(tmp_path / "a.db", body)


def test_a_miss_is_shown_beside_its_nearest_recording_with_a_rule_and_a_curl_command(
    tmp_path: Path,
) -> None:
    async def body(c: Client) -> None:
        await add(c, recording("http://api.example.com/users/1?fields=name"))
        await c.post("/users/1?fields=email", headers={"Host": "api.example.com"}, content=b"{}")
        page = (await c.get(f"{UI}/journal/1")).text
        assert '<span class="kind kind-miss">miss</span>' in page
        assert 'href="/__virt/ui/recordings/1"' in page
        assert "<th>method</th><td>POST</td><td>GET</td>" in page
        assert 'id="rule"' in page and "[[route]]" in page
        assert "path = &#34;/users/{id}&#34;" in page
        assert "curl -X POST http://127.0.0.1:8000/__virt/interactions" in page

    run(tmp_path / "a.db", body)


def test_an_entry_no_longer_in_the_journal_is_a_404_page_saying_why(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        r = await c.get(f"{UI}/journal/99")
        assert r.status_code == 404
        assert "keeps the last 1000 requests" in r.text

    run(tmp_path / "a.db", body)


def test_a_route_shows_its_template_and_what_was_learned(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        await add(
            c, *(recording(f"http://api.example.com/users/{n}", f'{{"id": {n}}}') for n in (1, 2))
        )
        routes = (await c.get(f"{UI}/routes")).text
        link = re.search(r'href="(/__virt/ui/route\?name=[^"]+)"', routes)
        assert link is not None
        page = (await c.get(link.group(1).replace("&amp;", "&"))).text
        assert "<code>/users/{id}</code>" in page
        assert 'id="schema"' in page
        assert "no: the fallback stage is off (--no-fallback)" in page  # no stage in-process
        assert 'A fallback answer starts from <a href="/__virt/ui/recordings/1">' in page
        assert "&#34;id&#34;: 1" in page

    run(tmp_path / "a.db", body)


def test_the_page_refuses_another_site_as_the_admin_api_does(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        assert (await c.get(UI)).status_code == 200
        assert (await c.get(UI, headers={"Host": "evil.example"})).status_code == 403
        r = await c.get(UI, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403
        r = await c.get(f"{UI}/static/ui.js", headers={"Sec-Fetch-Site": "cross-site"})
        assert r.status_code == 403

    run(tmp_path / "a.db", body)


def test_with_a_token_the_page_needs_it(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        assert (await c.get(UI)).status_code == 401
        assert (await c.get(UI, headers={"Authorization": "Bearer s3cret"})).status_code == 200

    run(tmp_path / "a.db", body, token="s3cret")


def test_static_files_are_only_the_pages_own(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        assert (await c.get(f"{UI}/static/ui.css")).headers["content-type"].startswith("text/css")
        assert (await c.get(f"{UI}/static/..%2f__init__.py")).status_code == 404
        assert (await c.get(f"{UI}/static/web.py")).status_code == 404

    run(tmp_path / "a.db", body)


def test_a_miss_lists_its_nearest_recordings_in_the_order_matching_ranks_them(
    tmp_path: Path,
) -> None:
    async def body(c: Client) -> None:
        wheel = recording("http://pypi.example/packages/aa/attrs-23.1.0-py3-none-any.whl")
        wheel["response"] = {"status": 200, "body_base64": "UEsDBBQAAAAIAA=="}
        index = recording("http://pypi.example/simple/six/", "<a href='six-1.16.0.whl'>six</a>")
        index["response"]["headers"] = [["Content-Type", "text/html"]]
        await add(c, wheel, index)
        r = await c.get("/simple/attrs/", headers={"Host": "pypi.example"})
        assert r.status_code == 599
        page = (await c.get(f"{UI}/journal/1")).text
        candidates = re.findall(r'<h3><a href="/__virt/ui/recordings/(\d+)">', page)
        assert candidates[0] == "2", candidates

    run(tmp_path / "a.db", body)


def test_the_faults_page_shows_the_plan_and_what_each_client_did_after_a_fault(
    tmp_path: Path,
) -> None:
    async def main() -> None:
        store = Store.open(tmp_path / "rec.db")
        try:
            engine = Engine(store)
            faults = FaultLog(parse_plan(["POST /v1/charges: 503 x1"], seed=7))
            admin = create_admin(engine, faults=faults)
            add_ui(admin)
            replayer = Replayer(engine, faults=faults, idempotency=Idempotency(engine.state, store))
            app = ReplayApp(engine, Router([], engine.origins), admin, replayer=replayer)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as c:
                charge = recording("https://api.test/v1/charges", '{"id": "ch_1"}')
                charge["request"]["method"] = "POST"
                await add(c, charge)
                sent = {
                    "Host": "api.test",
                    "X-Virt-Session": "checkout-<1>",
                    "Idempotency-Key": "k-1",
                }
                statuses = [(await c.post("/v1/charges", headers=sent)).status_code for _ in "ab"]
                assert statuses == [503, 200]
                shown = await c.get(f"{UI}/faults")
                assert shown.status_code == 200
                html = shown.text
                assert "POST /v1/charges: 503 x1" in html and "seed 7" in html
                assert "checkout-&lt;1&gt;" in html and "<1>" not in html  # escaped
                assert "retried with the same key after" in html and ": 200" in html
                other = await c.get(f"{UI}/faults", params={"session": "someone else"})
                assert "No fault injected in this session" in other.text
        finally:
            store.close()

    asyncio.run(main())


def test_a_server_without_fault_plans_says_so_on_the_faults_page(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        r = await c.get(f"{UI}/faults")
        assert r.status_code == 404 and "takes no fault plans" in r.text

    run(tmp_path / "rec.db", body)
