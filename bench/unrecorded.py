"""The fallback load: requests on the workload's recorded routes that were never recorded.

Request i (0 <= i < N, for N recorded entries): if i % 10 == 0, `POST /api/search` with the body
of entry i but `q` "new-{i}"; otherwise `GET /api/items/{N + i}?page={i % 7}`, an item past the
recorded ones. bench/workload.lua sends the same in its fallback mode. Kept apart from
bench/workload.py, whose source keys the cached recordings: this load changes no recording.
"""

from __future__ import annotations

import json
from typing import Any

from bench.workload import Entry


def request(size: int, i: int) -> Entry:
    """Request i of the fallback load on `size` entries; its answer is empty: virt makes it up."""
    if i % 10 == 0:
        body = (
            f'{{"q":"new-{i}","page":{i % 7},"filters":{{"in_stock":true,"min_price":{i % 100}}}}}'
        ).encode()
        return Entry("POST", "/api/search", "", body, b"")
    return Entry("GET", f"/api/items/{size + i}", f"page={i % 7}", b"", b"")


def echoed(e: Entry) -> dict[str, Any]:
    """What a right answer to the unrecorded request `e` holds, because the recordings show it
    coming back from the request: an item's id (from the path) and page (from the query), a
    search's q and page (from the body)."""
    if e.method == "POST":
        sent = json.loads(e.body)
        return {"q": sent["q"], "page": sent["page"]}
    return {"id": int(e.path.rsplit("/", 1)[1]), "page": int(e.query.removeprefix("page="))}


def wrong(e: Entry, status: int, match: str, body: bytes) -> str:
    """Why (status, X-Virt-Match, body) is not a right fallback answer to `e`, or ""."""
    if status != 200 or not match.startswith("fallback"):
        return f"{status} X-Virt-Match: {match or '(none)'}"
    try:
        value = json.loads(body)
    except ValueError:
        return "a body that is not JSON"
    if not isinstance(value, dict):
        return f"a JSON {type(value).__name__}, not an object"
    missed = [
        f"{k} {value.get(k)!r}, sent {v!r}" for k, v in echoed(e).items() if value.get(k) != v
    ]
    return "not the values of the request: " + "; ".join(missed) if missed else ""
