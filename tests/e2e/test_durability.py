"""What reached a client is in the database: under concurrency, and when the recorder is killed."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import Upstream, wait_for
from virt.store import Store


def _client(
    proxy_port: int, origin: str, name: str, received: list[str], stop: threading.Event, limit: int
) -> None:
    with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}", timeout=10) as client:
        for n in range(limit):
            if stop.is_set():
                return
            tag = f"{name}-{n}"
            try:
                r = client.get(f"{origin}/echo", params={"tag": tag})
            except httpx.HTTPError:
                return  # the recorder is gone
            if r.status_code == 200 and r.json()["query"] == f"tag={tag}":
                received.append(tag)


def _recorded_tags(db: Path) -> set[str]:
    with sqlite3.connect(db) as conn:
        return {q.removeprefix("tag=") for (q,) in conn.execute("SELECT query FROM interactions")}


def test_eight_concurrent_clients_lose_nothing(
    virt, http_upstream: Upstream, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    db = tmp_path / "concurrent.db"
    proc, port = virt.record(db)
    received: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_client, args=(port, http_upstream.url, f"c{i}", received, stop, 25)
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert proc.stop() == 0, proc.output()
    assert len(received) == 200
    assert _recorded_tags(db) == set(received)
    with sqlite3.connect(db) as conn:
        seqs = [s for (s,) in conn.execute("SELECT seq FROM interactions ORDER BY seq")]
    assert seqs == list(range(1, 201)), "one session, numbered without gaps"


def test_sigkill_during_traffic_keeps_every_answered_request(
    virt,
    http_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "killed.db"
    proc, port = virt.record(db)
    received: list[str] = []
    stop = threading.Event()
    threads = [
        threading.Thread(
            target=_client, args=(port, http_upstream.url, f"c{i}", received, stop, 100_000)
        )
        for i in range(8)
    ]
    for t in threads:
        t.start()
    try:
        wait_for(lambda: len(received) >= 300, timeout=60, what="300 answered requests")
        proc.kill()  # SIGKILL while all eight clients are mid-flight
    finally:
        stop.set()
        for t in threads:
            t.join(30)
    answered = list(received)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    missing = set(answered) - _recorded_tags(db)
    assert not missing, f"{len(missing)} answered requests were not recorded: {sorted(missing)[:5]}"
    store = Store.open(db)  # opens cleanly, and can be written again
    try:
        assert store.count() >= len(answered)
    finally:
        store.close()


async def _slow_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Answers /slow/<seconds> after that many seconds, anything else at once."""
    path = scope["path"]
    if path.startswith("/slow/"):
        await asyncio.sleep(float(path.removeprefix("/slow/")))
    body = f"answer to {path}".encode()
    await send(
        {
            "type": "http.response.start",
            "status": 200,
            "headers": [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))],
        }
    )
    await send({"type": "http.response.body", "body": body})


@pytest.fixture
def slow_upstream() -> Iterator[Upstream]:
    up = Upstream(_slow_app).start()
    yield up
    up.stop()


def _in_background(call: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []

    def run() -> None:
        try:
            out.append(call())
        except Exception as e:
            out.append(e)

    t = threading.Thread(target=run)
    t.start()
    return t, out


def _paths(db: Path) -> list[str]:
    with sqlite3.connect(db) as conn:
        return [p for (p,) in conn.execute("SELECT path FROM interactions ORDER BY id")]


def test_ctrl_c_finishes_the_request_in_flight_commits_it_and_exits_0(
    virt,
    slow_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "sigint.db"
    proc, port = virt.record(db, "--reverse", slow_upstream.url)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=30) as idle:
        assert idle.get(f"{base}/fast").status_code == 200  # a kept-alive connection
        slow, got = _in_background(lambda: httpx.get(f"{base}/slow/3", timeout=30))
        wait_for(lambda: "GET /slow/3" in slow_upstream.hits, what="the slow request upstream")
        proc.proc.send_signal(signal.SIGINT)  # type: ignore[union-attr]
        wait_for(lambda: "stopping: finishing" in proc.output(), what="the recorder to stop")
        late = idle.get(f"{base}/late")  # on the open connection, while stopping
        assert (late.status_code, late.text) == (
            503,
            "virt is stopping: this request was not forwarded\n",
        )
        slow.join(30)
        assert proc.proc.wait(30) == 0  # type: ignore[union-attr]
    (answer,) = got
    assert isinstance(answer, httpx.Response), answer
    assert (answer.status_code, answer.text) == (200, "answer to /slow/3")
    assert _paths(db) == ["/fast", "/slow/3"]
    assert "GET /late" not in slow_upstream.hits
    log = proc.output()
    assert "Traceback" not in log and "CancelledError" not in log, log
    assert "is the service up" not in log, log
    assert log.strip().splitlines()[-1].endswith(f"stopped: 2 interactions recorded into {db}")


def test_an_upstream_that_outlasts_the_grace_gets_its_client_a_502_and_exit_0(
    virt,
    slow_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "grace.db"
    proc, port = virt.record(db, "--reverse", slow_upstream.url)
    slow, got = _in_background(lambda: httpx.get(f"http://127.0.0.1:{port}/slow/60", timeout=60))
    wait_for(lambda: "GET /slow/60" in slow_upstream.hits, what="the slow request upstream")
    proc.proc.send_signal(signal.SIGTERM)  # type: ignore[union-attr]
    assert proc.proc.wait(30) == 0  # type: ignore[union-attr]
    slow.join(30)
    (answer,) = got
    assert isinstance(answer, httpx.Response), answer  # an answer, not a cut connection
    assert answer.status_code == 502
    assert _paths(db) == []
    log = proc.output()
    assert "1 exchanges still waited on their upstream after 10s" in log, log
    assert "virt was stopping and stopped waiting for the answer" in log, log
    assert "is the service up" not in log, log
    assert "Traceback" not in log, log
    assert log.strip().splitlines()[-1].endswith(f"stopped: 0 interactions recorded into {db}")
