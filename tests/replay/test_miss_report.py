"""Misses a person cannot overlook: every miss says why, in the journal and the report, and
its nearest recordings are ranked by the scorer, path segments and bodies included."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from tests.replay.test_app import drive
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.store import Store

PYPI = ("https", "pypi.example.org", 443)
JSON = (("Content-Type", "application/json"),)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def add(store: Store, method: str, path: str, body: bytes = b"", query: str = "") -> int:
    headers = JSON if body else ()
    request = Request(method, *PYPI, path, query, headers, body)
    written = store.insert(Interaction(request, Response(200, body=b"x")), keys(request))
    assert written.id is not None
    return written.id


async def miss_then_journal(
    client: httpx.AsyncClient, path: str, method: str = "GET", **kw: Any
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The miss report of one request, and its journal entry."""
    resp = await client.request(method, path, **kw)
    assert resp.status_code == 599, resp.text
    journal = (await client.get("/__virt/journal")).json()["entries"]
    return orjson.loads(resp.content), journal[0]


def test_the_index_page_of_a_sibling_package_comes_before_a_download(store: Store) -> None:
    add(store, "GET", "/packages/ab/cd/six-1.16.0-py2.py3-none-any.whl")
    six = add(store, "GET", "/simple/six/")
    report, entry = drive(store, lambda c: miss_then_journal(c, "/simple/attrs/"))
    assert report["nearest"][0]["id"] == six
    assert report["nearest"][0]["similarity"] > report["nearest"][1]["similarity"]
    assert entry["why"] and entry["why"] == report["why"]
    assert entry["explain"]["nearest"][0] == six


def test_a_miss_among_recordings_of_its_route_says_how_close_it_came(store: Store) -> None:
    body = {"q": "lamp", "page": 1, "filters": {"colour": "red"}}
    add(store, "POST", "/search", orjson.dumps(body))
    sent = {"q": "desk", "page": 2, "filters": {"colour": "blue"}}
    report, entry = drive(
        store,
        lambda c: miss_then_journal(
            c, "/search", method="POST", content=orjson.dumps(sent), headers=dict(JSON)
        ),
    )
    assert "scores" in entry["why"] and "under the threshold 0.85" in entry["why"]
    assert "body:$.q" in entry["why"]
    assert entry["explain"]["comparison"]["differs"]["body:$.q"] == {
        "sent": '"desk"',
        "recorded": '"lamp"',
    }
    assert entry["explain"]["route"] == "POST /search"
    assert report["why"] == entry["why"]


def test_a_miss_with_nothing_recorded_on_the_host_still_says_why(store: Store) -> None:
    add(store, "GET", "/simple/six/")
    report, entry = drive(store, lambda c: miss_then_journal(c, "/elsewhere/1"))
    assert report["why"] == entry["why"]
    assert entry["why"].startswith("nothing was recorded for GET /elsewhere/{id}")
    assert entry["explain"] is not None
