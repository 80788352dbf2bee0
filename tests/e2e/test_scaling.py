"""Replay on every core and on several machines: `virt serve --workers N` answers one session as
one process would, and replicas sharing a Redis (--state) do too, through a Redis outage."""

from __future__ import annotations

import http.client
import os
import signal
import time
from pathlib import Path

import httpx
import pytest

from tests.helpers import wait_for
from tests.state.redisserver import RedisServer
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import Store

JOB = Request("GET", "http", "api.example.com", 80, "/jobs/7")
POLLS = [b"pending", b"pending", b"done"]


@pytest.fixture
def db(tmp_path: Path) -> Path:
    path = tmp_path / "jobs.db"
    store = Store.open(path)
    for body in POLLS:
        store.insert(Interaction(JOB, Response(200, body=body)), exact_key(JOB))
    store.close()
    return path


def poll(port: int, session: str) -> bytes:
    """GET /jobs/7 on a new connection each time, so the kernel may pick any worker."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", "/jobs/7", headers={"X-Virt-Session": session, "Connection": "close"})
        return conn.getresponse().read()
    finally:
        conn.close()


def children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as f:
        return [int(p) for p in f.read().split()]


def cpu_ticks(pid: int) -> int:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rpartition(")")[2].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


def test_workers_answer_each_session_in_recorded_order_whichever_worker_serves_it(  # type: ignore[no-untyped-def]
    virt, db: Path
) -> None:
    proc, port, proxy_port = virt.serve(db, "--workers", "2")
    assert proc.proc is not None
    workers = children(proc.proc.pid)
    assert len(workers) == 2, workers
    before = {w: cpu_ticks(w) for w in workers}
    for n in range(40):
        answers = [poll(port, f"client-{n}") for _ in range(4)]
        assert answers == [*POLLS, b"done"], (n, answers)
    # the proxy door shares the sessions too
    with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}") as client:
        through = [
            client.get(JOB.url, headers={"X-Virt-Session": "proxied"}).content for _ in range(3)
        ]
    assert through == POLLS
    busy = [w for w in workers if cpu_ticks(w) > before[w]]
    assert len(busy) == 2, "the kernel sent every connection to one worker"

    def everything_journaled() -> bool:
        journal = httpx.get(f"http://127.0.0.1:{port}/__virt/journal?limit=1000").json()
        return len(journal["entries"]) == 40 * 4 + 3

    # whichever worker answers the admin API, the journal holds every worker's answers (the
    # other workers' within a quarter of a second)
    wait_for(everything_journaled, timeout=5, what="every worker's answers in the journal")
    stats = httpx.get(f"http://127.0.0.1:{port}/__virt/stats").json()
    assert stats["served"] == {"exact": 40 * 4 + 3}


def test_a_worker_that_dies_stops_the_server_with_an_error(virt, db: Path) -> None:  # type: ignore[no-untyped-def]
    proc, _, _ = virt.serve(db, "--workers", "2")
    assert proc.proc is not None
    os.kill(children(proc.proc.pid)[1], signal.SIGKILL)
    assert proc.proc.wait(20) != 0
    assert "worker 1" in proc.output()


def test_replicas_sharing_a_redis_answer_one_session_as_one_server(  # type: ignore[no-untyped-def]
    virt, db: Path, tmp_path: Path
) -> None:
    redis = RedisServer(tmp_path).start()
    try:
        state = ("--state", redis.url)
        _, one, _ = virt.serve(db, *state, proxy=False)
        _, two, _ = virt.serve(db, *state, proxy=False)
        assert [poll(one, "s"), poll(two, "s"), poll(one, "s"), poll(two, "s")] == [
            *POLLS,
            b"done",
        ]
        redis.kill()
        conn = http.client.HTTPConnection("127.0.0.1", one, timeout=10)
        conn.request("GET", "/jobs/7", headers={"X-Virt-Session": "t"})
        away = conn.getresponse()
        report = away.read().decode()
        assert away.status == 599
        assert "127.0.0.1:" + str(redis.port) in report, report
        assert httpx.get(f"http://127.0.0.1:{two}/__virt/health").status_code == 200
        redis.start()
        time.sleep(1.2)  # a Redis that failed is not asked again for a second
        assert [poll(two, "t"), poll(one, "t"), poll(two, "t")] == POLLS
    finally:
        redis.kill()


def test_replicas_open_the_recordings_read_only(virt, db: Path, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    redis = RedisServer(tmp_path).start()
    try:
        _, port, _ = virt.serve(db, "--state", redis.url, proxy=False)
        r = httpx.delete(f"http://127.0.0.1:{port}/__virt/interactions/1")
        assert r.status_code in (405, 409), r.text
        assert poll(port, "x") == b"pending"
    finally:
        redis.kill()
