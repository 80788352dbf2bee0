"""make bench: virt's replay at growing recording counts, side by side with a bare app.

For each size: the database, how long `virt serve` takes until it answers, its resident memory,
Engine.match p50 and p99 in-process, and replay requests per second through the direct door from
wrk, next to a bare Starlette app on the same uvicorn settings answering the same paths from a
dict, in the same run. Then the issue #5 targets, each PASS or MISS.

Settings (environment):
  BENCH_SIZES        recordings per database   (1000,10000,100000,1000000)
  BENCH_SECONDS      seconds of measured load  (5), after BENCH_WARMUP seconds (1)
  BENCH_ROUNDS       loads per server, taking turns; the best counts (2)
  BENCH_CONNECTIONS  wrk connections           (32)
  BENCH_PATHS        distinct request paths the load cycles through (20000, at most the size)
  BENCH_SAMPLES      Engine.match calls timed per size (10000; a tenth of it, or 15 s, for
                     scored matches)
  BENCH_CACHE        where generated databases are kept (bench/.cache)
"""

from __future__ import annotations

import os
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench import data, generate, latency, wrk
from bench.servers import HEALTH, Server
from virt.match.engine import MatchKind

SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "1000,10000,100000,1000000").split(",")]
SECONDS = float(os.environ.get("BENCH_SECONDS", "5"))
WARMUP = float(os.environ.get("BENCH_WARMUP", "1"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
PATHS = int(os.environ.get("BENCH_PATHS", "20000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "2"))
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "10000"))
SCORED_SAMPLES = max(1, SAMPLES // 10)
SCORED_BUDGET_S = 15.0

# other work on the machine skews every column: the table says how busy it was at the start
LOAD_BEFORE = os.getloadavg()[0]

TARGET_SIZE = 1_000_000
MATCH_P99_MS = 1.0
THROUGHPUT_SHARE = 0.60
READY_S = 3.0


@dataclass(frozen=True, slots=True)
class Row:
    size: int
    db_mib: float
    generated_s: float | None
    health_s: float
    first_reply_s: float
    rss_mib: float
    exact: latency.Latency
    scored: latency.Latency
    virt: wrk.Load
    bare: wrk.Load

    @property
    def share(self) -> float:
        return self.virt.rps / self.bare.rps if self.bare.rps else 0.0


def write_paths(size: int, folder: Path) -> Path:
    """A random sample of the recorded request paths, one a line, for wrk and the bare app."""
    sample = random.Random(size).sample(range(size), min(size, PATHS))
    path = folder / f"paths-{size}.txt"
    path.write_text("".join(data.target(n) + "\n" for n in sample))
    return path


def best(server: Server, paths: Path, previous: wrk.Load | None) -> wrk.Load:
    """One load on `server` after a warm-up: the faster of it and `previous`."""
    if WARMUP > 0:
        wrk.run(server.url, paths, WARMUP, CONNECTIONS)
    result = wrk.run(server.url, paths, SECONDS, CONNECTIONS)
    return result if previous is None or result.rps > previous.rps else previous


def bench(size: int, folder: Path, err: Console) -> Row:
    db, generated = generate.database(size, err)
    paths = write_paths(size, folder)
    first = paths.read_text().split("\n", 1)[0]
    err.print(f"{size:,}: timing Engine.match in-process")
    exact = latency.measure(db, size, SAMPLES, MatchKind.EXACT)
    scored = latency.measure(db, size, SCORED_SAMPLES, MatchKind.FUZZY, SCORED_BUDGET_S)
    err.print(f"{size:,}: starting virt serve and the bare app")
    virt = Server.virt(db, folder)
    bare = None
    try:
        health = virt.wait(HEALTH)
        first_reply = virt.wait(first)
        bare = Server.bare(paths, folder)
        bare.wait(first)
        virt_load = bare_load = None
        # taking turns, best of ROUNDS: a burst of other work on the machine hits one round of
        # one server, not the whole comparison
        for n in range(ROUNDS):
            err.print(f"{size:,}: load round {n + 1} of {ROUNDS}")
            virt_load = best(virt, paths, virt_load)
            bare_load = best(bare, paths, bare_load)
        assert virt_load is not None and bare_load is not None
        rss = virt.rss_mib()
    finally:
        virt.stop()
        if bare is not None:
            bare.stop()
    return Row(
        size,
        db.stat().st_size / 2**20,
        generated,
        health,
        first_reply,
        rss,
        exact,
        scored,
        virt_load,
        bare_load,
    )


def table(rows: list[Row]) -> Table:
    t = Table(
        title=f"virt replay benchmark ({os.cpu_count()} CPUs, load average {LOAD_BEFORE:.1f} "
        f"before the run; wrk 1 thread, {CONNECTIONS} connections, best of {ROUNDS} x "
        f"{SECONDS:g} s after {WARMUP:g} s warm-up)",
        caption=CAPTION,
        caption_justify="left",
    )
    headers = [
        "recordings",
        "db MiB",
        "generate s",
        "health s",
        "first reply s",
        "RSS MiB",
        "match p50 ms",
        "match p99 ms",
        "scored p50 ms",
        "scored p99 ms",
        "scored found",
        "virt req/s",
        "virt p99 ms",
        "bare req/s",
        "bare p99 ms",
        "virt/bare",
    ]
    for h in headers:
        t.add_column(h, justify="right")
    for r in rows:
        t.add_row(
            f"{r.size:,}",
            f"{r.db_mib:,.1f}",
            "cached" if r.generated_s is None else f"{r.generated_s:.1f}",
            f"{r.health_s:.2f}",
            f"{r.first_reply_s:.2f}",
            f"{r.rss_mib:,.0f}",
            f"{r.exact.p50_ms:.3f}",
            f"{r.exact.p99_ms:.3f}",
            f"{r.scored.p50_ms:.2f}",
            f"{r.scored.p99_ms:.2f}",
            f"{r.scored.hits}/{r.scored.samples}",
            rps(r.virt),
            f"{r.virt.p99_ms:.1f}",
            rps(r.bare),
            f"{r.bare.p99_ms:.1f}",
            f"{r.share:.0%}",
        )
    return t


CAPTION = f"""\
generate s   writing the synthetic database through Store.insert_many, once; later runs reuse
             it ("cached"). Not part of serving.
health s     from spawning `virt -q serve --db DB --no-proxy` until GET {HEALTH} answers 200.
first reply  from the same spawn until the first replayed request answers 200: the load time.
             Both with the database file already in the OS page cache.
RSS          virt serve's resident memory after the load.
match        Engine.match in-process (not over HTTP) on {SAMPLES:,} recorded requests drawn at
             random from the whole database, each found by its exact key; includes reading the
             chosen row and its body.
scored       as match, for {SCORED_SAMPLES:,} requests (fewer past {SCORED_BUDGET_S:g} s) each
             carrying a query parameter its recording never had: neither key finds it, so it is
             scored within its route group; "found" counts those scored above the threshold.
req/s        wrk against each server in turn, {ROUNDS} rounds, the best counted, cycling through up
             to {PATHS:,} distinct recorded paths; p99 is wrk's client-side latency."""


def targets(rows: list[Row]) -> Table:
    t = Table(title="issue #5 targets")
    for h in ("target", "measured", ""):
        t.add_column(h)
    at_target = next((r for r in rows if r.size == TARGET_SIZE), None)
    if at_target is None:
        missing = f"not measured: BENCH_SIZES has no {TARGET_SIZE:,}"
        t.add_row(f"match p99 <= {MATCH_P99_MS:g} ms at {TARGET_SIZE:,}", missing, "")
        t.add_row(f"first reply <= {READY_S:g} s at {TARGET_SIZE:,}", missing, "")
    else:
        p99 = at_target.exact.p99_ms
        t.add_row(
            f"match p99 <= {MATCH_P99_MS:g} ms at {TARGET_SIZE:,}",
            f"{p99:.3f} ms",
            verdict(p99 <= MATCH_P99_MS),
        )
        ready = at_target.first_reply_s
        t.add_row(
            f"first reply <= {READY_S:g} s at {TARGET_SIZE:,}",
            f"{ready:.2f} s",
            verdict(ready <= READY_S),
        )
    if rows:
        worst = min(rows, key=lambda r: r.share)
        t.add_row(
            f"virt req/s >= {THROUGHPUT_SHARE:.0%} of the bare app, every size",
            f"{worst.share:.0%} (lowest, at {worst.size:,})",
            verdict(worst.share >= THROUGHPUT_SHARE),
        )
    return t


def rps(load: wrk.Load) -> str:
    """Requests per second, and how many failed when any did: those make the figure void."""
    return f"{load.rps:,.0f}" + (f" [red]({load.failed:,} failed)" if load.failed else "")


def verdict(ok: bool) -> str:
    return "[green]PASS" if ok else "[red]MISS"


def main() -> None:
    wrk.check()
    err = Console(stderr=True)
    out = Console(width=200)
    rows = []
    # servers run here, so a virt.toml in the current folder cannot change their matching rules
    with tempfile.TemporaryDirectory(prefix="virt-bench-") as tmp:
        for size in SIZES:
            rows.append(bench(size, Path(tmp), err))
    out.print(table(rows))
    out.print(targets(rows))


if __name__ == "__main__":
    main()
