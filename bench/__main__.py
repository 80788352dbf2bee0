"""make bench: virt's replay at growing recording counts, side by side with a bare app.

For each size: how long `virt serve` takes until it answers, its resident memory, the database
size, Engine.match p50 and p99 in-process, and replay requests per second through the direct
door, next to a bare Starlette app on the same uvicorn answering from a dict, in the same run.
Sizes: BENCH_SIZES (default 1000,10000,100000; add 1000000 for the full table).
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from virt.match.engine import Engine
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.store import Store

HEADERS = (("Content-Type", "application/json"),)
SECONDS = float(os.environ.get("BENCH_SECONDS", "3"))
CONCURRENCY = 32


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def request(n: int) -> Request:
    return Request("GET", "https", "api.example.com", 443, f"/items/{n}", "", HEADERS)


def build(db: Path, size: int) -> None:
    store = Store.open(db)
    batch = []
    for n in range(size):
        body = f'{{"id": {n}, "name": "item {n}"}}'.encode()
        i = Interaction(request(n), Response(200, "OK", HEADERS, body), session="bench")
        batch.append((i, keys(i.request)))
        if len(batch) == 10_000:
            store.insert_many(batch)
            batch = []
    if batch:
        store.insert_many(batch)
    store.close()


def match_latency(db: Path, size: int, samples: int = 2000) -> tuple[float, float]:
    store = Store.open(db, readonly=True)
    engine = Engine(store)
    rng = random.Random(1)
    times = []
    for _ in range(samples):
        req = request(rng.randrange(size))
        start = time.perf_counter()
        engine.match(req)
        times.append(time.perf_counter() - start)
    store.close()
    times.sort()
    return statistics.median(times) * 1e3, times[int(len(times) * 0.99)] * 1e3


def wait_until_answers(url: str, proc: subprocess.Popen[bytes], timeout: float = 120) -> float:
    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"the server at {url} exited early")
        try:
            httpx.get(url, timeout=0.5)
            return time.perf_counter() - start
        except httpx.HTTPError:
            time.sleep(0.01)
    raise SystemExit(f"{url} did not answer within {timeout}s")


async def load(base: str, paths: list[str]) -> float:
    """Requests per second from CONCURRENCY clients for SECONDS."""
    done = 0
    deadline = time.perf_counter() + SECONDS
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=10) as client:

        async def worker(k: int) -> None:
            nonlocal done
            rng = random.Random(k)
            while time.perf_counter() < deadline:
                r = await client.get(rng.choice(paths))
                if r.status_code == 200:
                    done += 1

        start = time.perf_counter()
        await asyncio.gather(*(worker(k) for k in range(CONCURRENCY)))
        return done / (time.perf_counter() - start)


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def serve(cmd: list[str], url: str) -> tuple[subprocess.Popen[bytes], float]:
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return proc, wait_until_answers(url, proc)


def stop(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()


def main() -> None:
    sizes = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000").split(",")]
    err = Console(stderr=True)
    table = Table(title=f"virt replay benchmark ({CONCURRENCY} clients, {SECONDS:g} s per load)")
    for col in (
        "recordings",
        "build s",
        "ready s",
        "RSS MiB",
        "db MiB",
        "match p50 ms",
        "match p99 ms",
        "virt req/s",
        "bare req/s",
        "virt/bare",
    ):
        table.add_column(col, justify="right")
    with tempfile.TemporaryDirectory(prefix="virt-bench-") as tmp:
        for size in sizes:
            db = Path(tmp) / f"{size}.db"
            err.print(f"building {size} recordings")
            start = time.perf_counter()
            build(db, size)
            built = time.perf_counter() - start
            p50, p99 = match_latency(db, size)
            paths = [f"/items/{n}" for n in random.Random(2).sample(range(size), min(size, 1000))]
            port = free_port()
            virt, ready = serve(
                [
                    sys.executable,
                    "-m",
                    "virt",
                    "-q",
                    "serve",
                    "--db",
                    str(db),
                    "--port",
                    str(port),
                    "--no-proxy",
                ],
                f"http://127.0.0.1:{port}/__virt/health",
            )
            try:
                virt_rps = asyncio.run(load(f"http://127.0.0.1:{port}", paths))
                rss = rss_mb(virt.pid)
            finally:
                stop(virt)
            bport = free_port()
            bare, _ = serve(
                [sys.executable, "-m", "bench.baseline", str(bport)],
                f"http://127.0.0.1:{bport}/items/0",
            )
            try:
                bare_paths = [f"/items/{n % 1000}" for n in range(1000)]
                bare_rps = asyncio.run(load(f"http://127.0.0.1:{bport}", bare_paths))
            finally:
                stop(bare)
            table.add_row(
                f"{size:,}",
                f"{built:.1f}",
                f"{ready:.2f}",
                f"{rss:.0f}",
                f"{db.stat().st_size / 2**20:.1f}",
                f"{p50:.3f}",
                f"{p99:.3f}",
                f"{virt_rps:,.0f}",
                f"{bare_rps:,.0f}",
                f"{virt_rps / bare_rps:.0%}",
            )
    Console(width=160).print(table)


if __name__ == "__main__":
    main()
