"""The workload of issue #15: N recorded entries of one JSON API, written as a HAR file.

Entry i: if i % 10 == 0, `POST /api/search` with a JSON body that alone tells entries apart
(all POSTs share one path); otherwise `GET /api/items/{i}?page={i % 7}`. Every answer is 200,
application/json, about 300 bytes, with Content-Length. bench/workload.lua builds the very same
requests for wrk, and the bare app answers from a dict read back from the HAR. No virt imports:
the bare app must not load virt.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HOST = "api.bench.local"
"""The recorded host; absolute-form requests name it, and CONNECT goes to it on 443."""

RECORDED_AT = "2026-01-01T00:00:00.000Z"


@dataclass(frozen=True, slots=True)
class Entry:
    """One recorded exchange: the request as sent and the answer's body."""

    method: str
    path: str
    query: str
    body: bytes
    answer: bytes

    @property
    def target(self) -> str:
        """Path and query, as in a request line."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def key(self) -> tuple[str, str, str, bytes]:
        """What the bare app looks an answer up by: method, path, query and body."""
        return (self.method, self.path, self.query, self.body)


def search_body(i: int) -> bytes:
    """The POST body of entry i, byte for byte as bench/workload.lua sends it."""
    return (
        f'{{"q":"item-{i}","page":{i % 7},"filters":{{"in_stock":true,"min_price":{i % 100}}}}}'
    ).encode()


def entry(i: int) -> Entry:
    if i % 10 == 0:
        body = search_body(i)
        answer = _pad(
            f'{{"q":"item-{i}","page":{i % 7},"total":1,"results":[{{"id":{i},'
            f'"name":"item {i}","price":{i % 997}.{i % 100:02d}}}]'
        )
        return Entry("POST", "/api/search", "", body, answer)
    answer = _pad(
        f'{{"id":{i},"page":{i % 7},"name":"item {i}","price":{i % 997}.{i % 100:02d},'
        f'"in_stock":{"true" if i % 3 else "false"},"tags":["bench","t{i % 10}"]'
    )
    return Entry("GET", f"/api/items/{i}", f"page={i % 7}", b"", answer)


def _pad(head: str) -> bytes:
    """Closes a JSON object begun in `head` with a description field, to 300 bytes in all."""
    filler = "lorem ipsum dolor sit amet " * 12
    room = 300 - len(head) - len(',"description":""}')
    return f'{head},"description":"{filler[: max(room, 0)]}"}}'.encode()


def entries(size: int) -> Iterator[Entry]:
    return (entry(i) for i in range(size))


def write_har(size: int, path: Path, scheme: str = "http") -> None:
    """Writes the `size` entries as a HAR 1.2 file, recorded from `scheme`://HOST, one entry at
    a time (a million of them do not fit a json.dump of one list)."""
    with path.open("w", encoding="utf-8") as f:
        f.write('{"log":{"version":"1.2","creator":{"name":"virt bench","version":"1"},')
        f.write('"entries":[\n')
        for i, e in enumerate(entries(size)):
            if i:
                f.write(",\n")
            json.dump(_har_entry(e, scheme), f, separators=(",", ":"))
        f.write("\n]}}\n")


def _har_entry(e: Entry, scheme: str) -> dict[str, Any]:
    request: dict[str, Any] = {
        "method": e.method,
        "url": f"{scheme}://{HOST}{e.target}",
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": "Host", "value": HOST}, {"name": "Accept", "value": "*/*"}],
        "queryString": [
            {"name": k, "value": v} for k, _, v in (p.partition("=") for p in e.query.split("&"))
        ]
        if e.query
        else [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": len(e.body),
    }
    if e.body:
        request["headers"].append({"name": "Content-Type", "value": "application/json"})
        request["postData"] = {"mimeType": "application/json", "text": e.body.decode()}
    return {
        "startedDateTime": RECORDED_AT,
        "time": 1,
        "request": request,
        "response": {
            "status": 200,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Content-Length", "value": str(len(e.answer))},
            ],
            "cookies": [],
            "content": {
                "size": len(e.answer),
                "mimeType": "application/json",
                "text": e.answer.decode(),
            },
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(e.answer),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
    }


def read_har(path: Path) -> Iterator[Entry]:
    """The entries of a HAR file written by write_har (or any HAR of JSON answers), streamed."""
    import ijson  # a dependency of virt's own HAR reader; streams a file of any size

    with path.open("rb") as f:
        for item in ijson.items(f, "log.entries.item"):
            yield _from_har(item)


def _from_har(item: dict[str, Any]) -> Entry:
    request = item["request"]
    url: str = request["url"]
    target = "/" + url.split("://", 1)[1].split("/", 1)[1]
    path, _, query = target.partition("?")
    body = request.get("postData", {}).get("text", "").encode()
    answer = item["response"]["content"]["text"].encode()
    return Entry(request["method"], path, query, body, answer)
