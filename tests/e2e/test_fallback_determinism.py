"""A fallback answer is the same bytes from any process: seeded by the request, not the clock.

A small API recorded as a HAR file (users read by id, users created by POST, each answer with
a Date and a request id) goes into a database through `virt import`. Requests that were never
recorded (GETs of new ids, POSTs of new bodies) then go to two fresh `virt serve` processes on
that database and to one with `--workers 2`, each on a connection of its own so that both
workers answer some: every process gives each request the same status, headers (Date aside)
and body, byte for byte.
"""

from __future__ import annotations

import http.client
import json
import subprocess
from pathlib import Path
from typing import Any

from tests.conftest import Virt
from tests.helpers import VIRT, clean_env

HOST = "users.example.test"
NAMES = ["Ada Lovelace", "Grace Hopper", "Alan Turing", "Edsger Dijkstra", "Barbara Liskov"]


def _user(n: int, name: str) -> dict[str, Any]:
    return {
        "id": n,
        "name": name,
        "email": name.lower().replace(" ", ".") + "@example.com",
        "created_at": f"2026-01-{n:02d}T10:00:00Z",
        "active": n % 2 == 1,
    }


def _entry(method: str, path: str, body: Any, status: int, answer: Any, n: int) -> dict[str, Any]:
    text = json.dumps(answer)
    request: dict[str, Any] = {
        "method": method,
        "url": f"https://{HOST}{path}",
        "httpVersion": "HTTP/1.1",
        "headers": [{"name": "Host", "value": HOST}, {"name": "Accept", "value": "*/*"}],
        "queryString": [],
        "cookies": [],
        "headersSize": -1,
        "bodySize": 0,
    }
    if body is not None:
        request["headers"].append({"name": "Content-Type", "value": "application/json"})
        request["postData"] = {"mimeType": "application/json", "text": json.dumps(body)}
    return {
        "startedDateTime": f"2026-01-01T00:00:{n:02d}.000Z",
        "time": 1,
        "request": request,
        "response": {
            "status": status,
            "statusText": "OK",
            "httpVersion": "HTTP/1.1",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Date", "value": f"Thu, 01 Jan 2026 00:00:{n:02d} GMT"},
                {"name": "X-Request-Id", "value": f"req_{n:04d}a7f3c9e2b1d8"},
            ],
            "cookies": [],
            "content": {"size": len(text), "mimeType": "application/json", "text": text},
            "redirectURL": "",
            "headersSize": -1,
            "bodySize": len(text),
        },
        "cache": {},
        "timings": {"send": 0, "wait": 1, "receive": 0},
    }


def recorded_api(tmp_path: Path) -> Path:
    """A database of five users read by id and three created, imported by `virt import`."""
    entries = [
        _entry("GET", f"/api/users/{n}", None, 200, _user(n, name), n)
        for n, name in enumerate(NAMES, 1)
    ]
    for n, name in enumerate(NAMES[:3], 10):
        sent = {k: v for k, v in _user(n, name).items() if k in ("name", "email")}
        entries.append(_entry("POST", "/api/users", sent, 201, _user(n, name), n))
    har = tmp_path / "users.har"
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    db = tmp_path / "users.db"
    subprocess.run(
        [*VIRT, "import", "--db", str(db), str(har)],
        env=clean_env(),
        check=True,
        capture_output=True,
    )
    return db


UNRECORDED: list[tuple[str, str, bytes]] = [
    *(("GET", f"/api/users/{n}", b"") for n in (6, 42, 777, 31337)),
    *(
        ("POST", "/api/users", json.dumps({"name": name, "email": email}).encode())
        for name, email in [
            ("Katherine Johnson", "katherine@example.com"),
            ("Margaret Hamilton", "mh@example.org"),
            ("Donald Knuth", "knuth@example.net"),
        ]
    ),
]


def ask(port: int, method: str, path: str, body: bytes, session: str) -> tuple[int, Any, bytes]:
    """(status, headers but Date as (lower-case name, value) pairs, body); a connection each."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        headers = {"Host": HOST, "Accept": "*/*", "X-Virt-Session": session}
        if body:
            headers["Content-Type"] = "application/json"
        conn.request(method, path, body=body or None, headers=headers)
        resp = conn.getresponse()
        kept = [(n.lower(), v) for n, v in resp.getheaders() if n.lower() != "date"]
        return resp.status, kept, resp.read()
    finally:
        conn.close()


def test_an_unrecorded_request_gets_the_same_fallback_bytes_from_every_process(
    virt: Virt, tmp_path: Path
) -> None:
    db = recorded_api(tmp_path)
    ports = [virt.serve(db, proxy=False)[1] for _ in range(2)]
    ports.append(virt.serve(db, "--workers", "2", proxy=False)[1])
    answers = [
        [
            ask(port, m, path, body, f"determinism-{k}")
            for k, (m, path, body) in enumerate(UNRECORDED)
        ]
        for port in ports
    ]
    first = answers[0]
    for (method, path, _), (status, headers, body) in zip(UNRECORDED, first, strict=True):
        where = f"{method} {path}: {status} {body[:200]!r}"
        # the route's recorded status: 200 for a read, 201 for a create
        assert status == (200 if method == "GET" else 201), where
        assert dict(headers)["x-virt-match"].startswith("fallback;source="), where
        assert json.loads(body), where
    # asked again, in another session, of whichever worker takes the new connection: a seed
    # from the request, so neither the session nor what the process answered before counts
    again = [
        ask(ports[2], m, path, body, f"determinism-again-{k}")
        for k, (m, path, body) in enumerate(UNRECORDED)
    ]
    for other in [*answers[1:], again]:
        for (method, path, _), want, got in zip(UNRECORDED, first, other, strict=True):
            assert got == want, f"{method} {path} answered differently"
