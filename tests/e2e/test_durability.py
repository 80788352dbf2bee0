"""What reached a client is in the database: under concurrency, and when the recorder is killed."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import httpx

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
