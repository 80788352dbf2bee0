"""Pages nobody recorded, end to end: a real FastAPI service paged by number and by cursor is
recorded for two pages, switched off, and `virt serve` answers other pages, other page sizes
and cursors past the end as windows on one collection, honest about where it ends."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.fallback import (
    allow_null,
    assert_valid,
    inferred,
    is_fallback,
    last_entry,
    record,
    serve,
)
from tests.e2e.pagedserver import CUSTOMERS, ISSUES, ITEMS, create_app
from tests.helpers import free_port

PER_PAGE = 10
LIMIT = 3
ISSUES_PATH = "/repos/acme/widgets/issues"
ISSUES_PER_PAGE = 5


@dataclass
class Recorded:
    db: Path
    origin: str
    """The service's origin, as recorded: what clients of the proxy door ask for."""
    pages: list[dict[str, Any]]
    """/items pages 1 and 2 of PER_PAGE, as the service answered them."""
    customers: list[dict[str, Any]]
    """/v1/customers: the first page of LIMIT, then the one after its last id."""
    issues: list[list[dict[str, Any]]]
    """/repos/acme/widgets/issues pages 1 and 2 of ISSUES_PER_PAGE."""


def _drive(client: httpx.Client, origin: str) -> tuple[str, list[Any], list[Any], list[Any]]:
    pages = [
        client.get(f"{origin}/items", params={"page": p, "per_page": PER_PAGE}).json()
        for p in (1, 2)
    ]
    first = client.get(f"{origin}/v1/customers", params={"limit": LIMIT}).json()
    after = first["data"][-1]["id"]
    second = client.get(
        f"{origin}/v1/customers", params={"limit": LIMIT, "starting_after": after}
    ).json()
    issues = [
        client.get(f"{origin}{ISSUES_PATH}", params={"page": p, "per_page": ISSUES_PER_PAGE})
        for p in (1, 2)
    ]
    assert [set(r.links) for r in issues] == [{"next", "last"}, {"next", "last", "first", "prev"}]
    return origin, pages, [first, second], [r.json() for r in issues]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Recorded:
    tmp = tmp_path_factory.mktemp("pages")
    db, (origin, pages, customers, issues) = record(create_app(), tmp, confdir, _drive)
    # the service itself, as recorded: what the fallback has to go on
    assert [i["id"] for p in pages for i in p["items"]] == list(range(1, 21))
    assert [p["has_more"] for p in pages] == [True, True]
    assert [c["has_more"] for c in customers] == [True, False]
    return Recorded(db, origin, pages, customers, issues)


@pytest.fixture(scope="module")
def base(recorded: Recorded) -> Iterator[str]:
    with serve(recorded.db) as url:
        yield url


def items_schema(recorded: Recorded) -> dict[str, Any]:
    return allow_null(inferred(recorded.pages), "next")


def get_page(base: str, page: int, per_page: int) -> httpx.Response:
    return httpx.get(f"{base}/items", params={"page": page, "per_page": per_page}, timeout=30)


def test_page_3_is_answered_by_fallback_with_the_items_nobody_recorded_and_says_it_is_last(
    base: str, recorded: Recorded
) -> None:
    resp = get_page(base, 3, PER_PAGE)
    assert resp.status_code == 200, resp.text
    assert is_fallback(resp), resp.headers
    body = resp.json()
    assert_valid(items_schema(recorded), body)
    # the recordings say total 25 and show 20: the 5 that remain, then nothing more
    assert (body["page"], body["per_page"], body["total"]) == (3, PER_PAGE, 25)
    assert len(body["items"]) == 5
    ids = [i["id"] for i in body["items"]]
    assert len(set(ids)) == 5
    assert not set(ids) & {i["id"] for i in ITEMS[:20]}, "an item of pages 1 and 2 again"
    assert body["has_more"] is False
    assert body["next"] is None


def test_a_page_past_the_end_is_empty_and_last(base: str, recorded: Recorded) -> None:
    resp = get_page(base, 4, PER_PAGE)
    assert resp.status_code == 200, resp.text
    assert is_fallback(resp), resp.headers
    body = resp.json()
    assert_valid(items_schema(recorded), body)
    assert body["items"] == []
    assert (body["page"], body["total"], body["has_more"], body["next"]) == (4, 25, False, None)


def walk_by_next(base: str, per_page: int) -> list[dict[str, Any]]:
    """Page through /items from page 1 the way a client does: follow `next` until it is null."""
    pages = []
    target: str | None = f"/items?page=1&per_page={per_page}"
    while target is not None:
        assert len(pages) < 30, "next never ends"
        resp = httpx.get(base + target, timeout=30)
        assert resp.status_code == 200, resp.text
        pages.append(resp.json())
        target = pages[-1]["next"]
    return pages


def test_another_page_size_walks_the_same_collection_in_the_same_order(
    base: str, recorded: Recorded
) -> None:
    schema = items_schema(recorded)
    by_seven = walk_by_next(base, 7)
    by_ten = walk_by_next(base, PER_PAGE)
    for n, page in enumerate(by_seven, start=1):
        assert_valid(schema, page)
        assert (page["page"], page["per_page"], page["total"]) == (n, 7, 25)
        assert page["has_more"] is (n < 4)
    assert [len(p["items"]) for p in by_seven] == [7, 7, 7, 4]
    walked = [i for p in by_seven for i in p["items"]]
    # recorded items where recorded, whole; then the generated ones, the same in every window
    assert walked[:20] == ITEMS[:20]
    assert walked == [i for p in by_ten for i in p["items"]]
    assert len({i["id"] for i in walked}) == 25, "an id on two pages"


def test_cursor_pages_of_another_size_follow_the_recorded_order(
    base: str, recorded: Recorded
) -> None:
    schema = inferred(recorded.customers)
    first = httpx.get(f"{base}/v1/customers", params={"limit": 2}, timeout=30)
    assert first.status_code == 200, first.text
    assert is_fallback(first), first.headers
    body = first.json()
    assert_valid(schema, body)
    assert body["data"] == CUSTOMERS[:2]
    assert (body["object"], body["has_more"], body["url"]) == ("list", True, "/v1/customers")
    walked = list(body["data"])
    while body["has_more"]:
        assert len(walked) < 30, "has_more never ends"
        resp = httpx.get(
            f"{base}/v1/customers",
            params={"limit": 2, "starting_after": walked[-1]["id"]},
            timeout=30,
        )
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert_valid(schema, body)
        assert 0 < len(body["data"]) <= 2
        walked += body["data"]
    assert walked == CUSTOMERS


def test_a_cursor_past_the_end_answers_an_empty_last_page(base: str, recorded: Recorded) -> None:
    resp = httpx.get(
        f"{base}/v1/customers",
        params={"limit": LIMIT, "starting_after": CUSTOMERS[-1]["id"]},
        timeout=30,
    )
    assert resp.status_code == 200, resp.text
    assert is_fallback(resp), resp.headers
    body = resp.json()
    assert_valid(inferred(recorded.customers), body)
    assert (body["data"], body["has_more"]) == ([], False)


def test_link_headers_of_another_page_size_lead_page_by_page_to_the_last(
    base: str, recorded: Recorded
) -> None:
    # GitHub-style: a bare list, and the way on in Link headers that name the service's own
    # URLs. The recordings say 10 issues and no total, so the collection may end there; what
    # must hold is that each next link is the next page and that the last page has none.
    schema = inferred(recorded.issues)
    walked: list[dict[str, Any]] = []
    target = f"{ISSUES_PATH}?page=1&per_page=4"
    for page in range(1, 11):
        resp = httpx.get(base + target, timeout=30)
        assert resp.status_code == 200, resp.text
        assert_valid(schema, resp.json())
        walked += resp.json()
        link = resp.links.get("next")
        if link is None:
            break
        url = httpx.URL(link["url"])
        assert (url.params["page"], url.params["per_page"]) == (str(page + 1), "4"), link
        target = f"{url.path}?{url.query.decode()}"
    else:
        raise AssertionError("the Link headers never end")
    assert walked[:10] == ISSUES[:10]
    ids = [i["id"] for i in walked]
    assert len(ids) == len(set(ids)), "an issue on two pages"


def test_a_page_of_links_past_the_end_is_empty_and_links_to_no_next_page(base: str) -> None:
    resp = httpx.get(f"{base}{ISSUES_PATH}", params={"page": 9, "per_page": 5}, timeout=30)
    assert resp.status_code == 200, resp.text
    assert is_fallback(resp), resp.headers
    assert resp.json() == []
    assert "next" not in resp.links, resp.headers.get("link")


@pytest.mark.parametrize(
    ("method", "target"),
    [("GET", "/orders?page=3"), ("POST", "/items?page=3"), ("GET", "/items/21")],
    ids=["unknown-path", "unknown-method", "unknown-route-below"],
)
def test_a_route_nobody_recorded_stays_a_miss(base: str, method: str, target: str) -> None:
    resp = httpx.request(method, base + target, timeout=30)
    assert resp.status_code == 599, resp.text
    assert resp.headers["x-virt-match"] == "miss"


def test_the_journal_explains_a_fallback_page(base: str) -> None:
    resp = get_page(base, 3, PER_PAGE)
    assert is_fallback(resp)
    entry = last_entry(base, "GET", "/items")
    assert entry["match"] == "fallback"
    fallback = entry["explain"]["fallback"]
    assert fallback["route"].startswith("GET http://127.0.0.1:")
    assert fallback["route"].endswith("/items")
    assert fallback["status"] == 200
    assert resp.headers["x-virt-match"] == f"fallback;source={fallback['source']}"
    assert fallback["source"] == "template"
    assert isinstance(fallback["template"], int)


def test_both_doors_answer_an_unrecorded_page_with_the_same_bytes(recorded: Recorded) -> None:
    proxy_port = free_port()
    with serve(recorded.db, proxy_port=proxy_port) as url:
        direct = get_page(url, 3, PER_PAGE)
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}", timeout=30) as client:
            proxied = client.get(f"{recorded.origin}/items", params={"page": 3, "per_page": 10})
    assert proxied.status_code == direct.status_code == 200, proxied.text
    assert proxied.headers["x-virt-match"] == direct.headers["x-virt-match"]
    assert is_fallback(proxied)
    assert proxied.content == direct.content


@pytest.mark.parametrize(
    ("extra", "env"),
    [(["--no-fallback"], {}), ([], {"VIRT_NO_FALLBACK": "1"})],
    ids=["--no-fallback", "VIRT_NO_FALLBACK=1"],
)
def test_no_fallback_keeps_an_unrecorded_page_a_miss(
    recorded: Recorded, extra: list[str], env: dict[str, str]
) -> None:
    with serve(recorded.db, *extra, env=env) as url:
        missed = get_page(url, 3, PER_PAGE)
        assert missed.status_code == 599, missed.text
        assert missed.headers["x-virt-match"] == "miss"
        recorded_page = get_page(url, 2, PER_PAGE)
        assert recorded_page.status_code == 200
        assert recorded_page.json() == recorded.pages[1]
