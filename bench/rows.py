"""The rows of make bench: each measures virt as users start it beside its baseline, in turn,
on the same workload, and says PASS or MISS against the target of issue #15."""

from __future__ import annotations

import asyncio
import dataclasses
import ssl
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench import cpu, servers, settings, tlsload, unrecorded, wrk
from bench.recordings import Recordings
from bench.servers import Server, ServerFailed

ORIGIN = "http://api.bench.local"
HOST = "api.bench.local"


@dataclass(frozen=True, slots=True)
class Side:
    """One server under load: what it is, how fast it came up, and what the load measured."""

    name: str
    load: wrk.Load
    rss_mib: float
    ready_s: float
    others: float = 0.0
    """Cores that other work on the machine kept busy during the load (bench/cpu.py)."""


@dataclass(slots=True)
class Row:
    title: str
    size: int | None
    target: float | None
    """The least ratio of virt to its baseline that passes."""
    virt: Side | None = None
    base: Side | None = None
    import_s: str = ""
    problem: str = ""
    """Why the figures are void: a server that broke, answers that were not 200."""
    skipped: str = ""
    """Why the row was not measured, when that is no failure (a flag this virt lacks)."""
    notes: list[str] = field(default_factory=list)
    p99_target_ms: float | None = None
    """The most virt's p99 latency may be, for a row held to that instead of a ratio."""

    @property
    def ratio(self) -> float | None:
        if self.virt is None or self.base is None or not self.base.load.rps:
            return None
        return self.virt.load.rps / self.base.load.rps

    @property
    def failed(self) -> bool:
        """Answers that were wrong, or a server that broke: the figures mean nothing."""
        return bool(self.problem)

    @property
    def verdict(self) -> str:
        if self.failed:
            return "FAIL"
        if self.p99_target_ms is not None and not self.skipped and self.virt is not None:
            return "PASS" if self.virt.load.p99_ms <= self.p99_target_ms else "MISS"
        if self.skipped or self.target is None or self.ratio is None:
            return "n/a"
        return "PASS" if self.ratio >= self.target else "MISS"


@dataclass(frozen=True, slots=True)
class Measured:
    load: wrk.Load
    rss_mib: float
    others: float


def measure(
    server: Server,
    size: int,
    origin: str = "",
    host: str = "",
    port: int = 0,
    mode: str = "",
    connections: int = 0,
) -> Measured:
    """A warm-up then the measured load from wrk on `port` (the server's own when 0), the
    server's RSS after it, and the CPU that other work took meanwhile; `mode` as wrk.run's;
    `connections` settings.CONNECTIONS when 0."""
    url = f"http://127.0.0.1:{port or server.port}"
    conns = connections or settings.CONNECTIONS
    if settings.WARMUP > 0:
        wrk.run(url, size, settings.WARMUP, conns, origin, host, mode)
    pids = server.pids()
    before = cpu.snapshot(pids)
    load = wrk.run(url, size, settings.SECONDS, conns, origin, host, mode)
    others = cpu.others(before, pids)
    server.check_alive()
    return Measured(load, server.rss_mib(), others)


def side(server: Server, ready_s: float, m: Measured) -> Side:
    return Side(server.name, m.load, m.rss_mib, ready_s, m.others)


def run_side(start: Callable[[], Side], row: Row) -> Side | None:
    """One side of a row; a server that fails becomes the row's problem, loudly, and the bench
    goes on with the next row."""
    try:
        result = start()
    except ServerFailed as e:
        row.problem = str(e)
        return None
    if result.load.failed:
        row.problem = (
            f"{result.name}: {result.load.not_ok:,} answers were not 200 and "
            f"{result.load.socket_errors:,} socket errors; first: {result.load.first_bad}"
        )
    return result


def _direct_side(start: Callable[[], Server], rec: Recordings) -> Side:
    server = start()
    try:
        ready = server.ready()
        server.verify(rec.size)
        return side(server, ready, measure(server, rec.size))
    finally:
        server.stop()


def direct(rec: Recordings, cwd: Path) -> Row:
    """Row 1: the direct door with default flags beside the bare app."""
    row = Row("direct door", rec.size, 0.6, import_s=_import(rec))
    row.virt = run_side(lambda: _direct_side(lambda: servers.virt_serve(rec.db, cwd)[0], rec), row)
    if not row.problem:
        row.base = run_side(lambda: _direct_side(lambda: servers.bare(rec.har, cwd), rec), row)
    return row


def _proxy_side(server: Server, rec: Recordings, port: int) -> Side:
    try:
        ready = server.ready(via_proxy=ORIGIN, port=port)
        server.verify(rec.size, via_proxy=ORIGIN, port=port)
        return side(server, ready, measure(server, rec.size, ORIGIN, HOST, port))
    finally:
        server.stop()


def proxy_http(rec: Recordings, cwd: Path) -> Row:
    """Row 2: plain HTTP absolute-form requests to the proxy door beside mitmdump replay."""
    row = Row("proxy door, HTTP", rec.size, 2.0)

    def virt() -> Side:
        server, proxy_port = servers.virt_serve(rec.db, cwd)
        return _proxy_side(server, rec, proxy_port)

    def mitmdump() -> Side:
        server = servers.mitmdump_replay(rec.har, cwd)
        return _proxy_side(server, rec, server.port)

    row.virt = run_side(virt, row)
    if not row.problem:
        row.base = run_side(mitmdump, row)
    return row


def _tls_side(server: Server, rec: Recordings, port: int, ca: Path, ready_first: bool) -> Side:
    try:
        ready = server.ready() if ready_first else _tls_ready(server, port, ca)
        _tls_verify(server, port, ca, rec.size)
        cmd = [sys.executable, "-m", "bench.tlsload", str(port), str(ca), str(rec.size)]
        cmd += [str(settings.CONNECTIONS), str(settings.WARMUP), str(settings.SECONDS)]
        pids = server.pids()
        before = cpu.snapshot(pids)
        done = subprocess.run(cmd, env=servers.ENV, capture_output=True, text=True, check=False)
        others = cpu.others(before, pids)
        load = wrk.parse(done.stdout, done.stderr, cmd)
        server.check_alive()
        return side(server, ready, Measured(load, server.rss_mib(), others))
    finally:
        server.stop()


def _tls_ready(server: Server, port: int, ca: Path, timeout: float = 600) -> float:
    """Seconds from spawn until entry 1 is answered through CONNECT and TLS."""
    last: Exception | None = None
    while time.perf_counter() - server.started < timeout:
        server.check_alive()
        if ca.exists():
            try:
                [(status, _)] = asyncio.run(tlsload.fetch(port, ca, [1]))
                if status == 200:
                    return time.perf_counter() - server.started
                last = ServerFailed(f"entry 1 answered {status}")
            except (OSError, ssl.SSLError, asyncio.IncompleteReadError, tlsload.BadAnswer) as e:
                last = e
        time.sleep(0.05)
    raise ServerFailed(f"{server.name} did not answer over TLS: {last}; see {server.log}")


def _tls_verify(server: Server, port: int, ca: Path, size: int) -> None:
    picks = servers.sample(size)
    answers = asyncio.run(tlsload.fetch(port, ca, picks))
    for n, (status, body) in zip(picks, answers, strict=True):
        servers.check_answer(server, n, status, body)


def proxy_https(rec: Recordings, cwd: Path) -> Row:
    """Row 3: HTTPS through CONNECT with keep-alive, from bench/tlsload.py, beside mitmdump."""
    row = Row("proxy door, HTTPS", rec.size, 2.0)

    def virt() -> Side:
        server, proxy_port = servers.virt_serve(rec.db, cwd)
        ca = cwd / "confdir-virt" / "mitmproxy-ca-cert.pem"
        return _tls_side(server, rec, proxy_port, ca, ready_first=True)

    def mitmdump() -> Side:
        server = servers.mitmdump_replay(rec.har, cwd)
        ca = cwd / "confdir-mitmdump" / "mitmproxy-ca-cert.pem"
        return _tls_side(server, rec, server.port, ca, ready_first=False)

    row.virt = run_side(virt, row)
    if not row.problem:
        row.base = run_side(mitmdump, row)
    for s in (row.virt, row.base):
        if s is not None and s.load.client_cpu is not None:
            row.notes.append(f"load generator CPU {s.load.client_cpu:.0%} beside {s.name}")
            if s.load.client_cpu > 0.9:
                row.notes.append(f"the generator, not {s.name}, may be what saturated")
    return row


def workers(rec: Recordings, cwd: Path) -> Row:
    """Row 4: the direct door with --workers 2 beside --workers 1, virt's own ratio."""
    row = Row("--workers 2 vs 1", rec.size, 1.7)
    if not servers.supports("serve", "--workers"):
        row.skipped = "not supported by this virt (virt serve has no --workers)"
        return row

    def start(n: int) -> Callable[[], Server]:
        return lambda: servers.virt_serve(rec.db, cwd, ["--workers", str(n)])[0]

    row.virt = run_side(lambda: _direct_side(start(2), rec), row)
    if not row.problem:
        row.base = run_side(lambda: _direct_side(start(1), rec), row)
    if row.virt is not None:
        row.virt = dataclasses.replace(row.virt, name="virt --workers 2")
    if row.base is not None:
        row.base = dataclasses.replace(row.base, name="virt --workers 1")
    if not row.problem:
        # what the machine allows: the same two loads on the bare app (wrk shares the cores)
        def bare(n: int) -> Callable[[], Side]:
            return lambda: _direct_side(lambda: servers.bare(rec.har, cwd, n), rec)

        sides = [run_side(bare(n), row) for n in (2, 1)]
        two, one = sides
        if two is not None and one is not None:
            row.notes.append(
                f"the bare app on this machine: 2 workers {two.load.rps:,.0f} req/s, "
                f"1 worker {one.load.rps:,.0f}: {two.load.rps / one.load.rps:.2f}x"
            )
    return row


def best_of(row: Row, base: Callable[[], Side], virt: Callable[[], Side], rounds: int) -> None:
    """Measure the row's baseline and virt alternately, `rounds` times each (baseline first),
    keeping each side's best load: on a shared machine, a burst of other work during one load
    is the largest difference between two close servers. Stops at the row's first problem."""
    for _ in range(rounds):
        for measure_side, which in ((base, "base"), (virt, "virt")):
            if row.problem:
                return
            got = run_side(measure_side, row)
            kept = getattr(row, which)
            if got is not None and (kept is None or got.load.rps > kept.load.rps):
                setattr(row, which, got)


RECORDING_ROUNDS = 3
"""Loads of each side of the recording row, alternated, each side's best counting: on this
shared machine one load of the same mitmdump varied between 680 and 1,180 req/s."""


def recording(rec: Recordings, cwd: Path) -> Row:
    """Row 5: `virt record` forwarding absolute-form requests to a local upstream (the bare
    app) beside plain mitmdump forwarding to the same upstream."""
    row = Row("recording", None, 0.8)
    upstream = servers.bare(rec.har, cwd)
    try:
        upstream.ready()
        origin = upstream.url
        host = origin.split("://", 1)[1]

        def through(server: Server) -> Side:
            try:
                ready = server.ready(via_proxy=origin)
                server.verify(rec.size, via_proxy=origin)
                return side(server, ready, measure(server, rec.size, origin, host))
            finally:
                server.stop()

        def record() -> Side:
            return through(servers.virt_record(cwd / f"recorded-{time.time_ns()}.db", cwd))

        def forward() -> Side:
            return through(servers.mitmdump_forward(cwd))

        best_of(row, forward, record, RECORDING_ROUNDS)
        row.notes.append(f"upstream: the bare app with {rec.size:,} entries")
        row.notes.append(
            f"each side's best of {RECORDING_ROUNDS} loads, alternated; virt record into a "
            "fresh database each time"
        )
    except ServerFailed as e:
        row.problem = f"the upstream: {e}"
    finally:
        upstream.stop()
    return row


FALLBACK_P99_MS = 5.0
"""Issue #16: a fallback answer costs at most this at p99, at 100,000 recordings."""


def fallback(rec: Recordings, cwd: Path) -> Row:
    """Row 6: requests never recorded, on recorded routes (bench/unrecorded.py), answered by
    the fallback of issue #16 through the direct door with default flags, one request at a
    time on one connection: the latency is what one fallback answer costs, with no queue of
    other clients' requests in it. Held to a p99 of FALLBACK_P99_MS. Beside it, the recorded
    requests on the same server the same way; a note gives the fallback load at
    settings.CONNECTIONS connections."""
    row = Row("fallback", rec.size, None, p99_target_ms=FALLBACK_P99_MS)
    if not servers.supports("serve", "--no-fallback"):
        row.skipped = "not supported by this virt (virt serve has no --no-fallback)"
        return row
    sides: dict[str, Side] = {}

    def virt() -> Side:
        server = servers.virt_serve(rec.db, cwd)[0]
        try:
            ready = server.ready()
            server.verify_fallback(rec.size)
            one = measure(server, rec.size, mode="fallback", connections=1)
            unrecorded = side(server, ready, one)
            sides["recorded"] = side(server, ready, measure(server, rec.size, connections=1))
            sides["busy"] = side(server, ready, measure(server, rec.size, mode="fallback"))
            return unrecorded
        finally:
            server.stop()

    row.virt = run_side(virt, row)
    if row.virt is not None:
        row.virt = dataclasses.replace(row.virt, name="virt serve, unrecorded, 1 connection")
    if "recorded" in sides:
        row.base = dataclasses.replace(sides["recorded"], name="virt serve, recorded, 1 connection")
    if (busy := sides.get("busy")) is not None:
        row.notes.append(
            f"the same unrecorded requests on {settings.CONNECTIONS} connections: "
            f"{busy.load.rps:,.0f} req/s, p50 {busy.load.p50_ms:.2f} ms, "
            f"p99 {busy.load.p99_ms:.2f} ms (waiting behind the other connections included)"
        )
    if not row.problem:
        row.notes.append(_misses(rec, cwd))
    return row


def _misses(rec: Recordings, cwd: Path) -> str:
    """The fallback load on `virt serve --no-fallback`, where every request is a 599 miss: what
    the stages before the fallback cost, so the row shows whose time its latency is."""
    server = servers.virt_serve(rec.db, cwd, ["--no-fallback"])[0]
    try:
        server.ready()
        e = unrecorded.request(rec.size, 1)
        status, match, _ = servers.ask(server.port, e)
        if status != 599:
            return f"--no-fallback answered {e.method} {e.target} {status} {match}, not a miss"
        load = measure(server, rec.size, mode="fallback").load
    except ServerFailed as e:
        return f"the same load with --no-fallback could not be measured: {e}"
    finally:
        server.stop()
    return (
        f"the same load with --no-fallback, every answer a 599 miss: {load.rps:,.0f} req/s, "
        f"p50 {load.p50_ms:.2f} ms, p99 {load.p99_ms:.2f} ms (the matching that comes first)"
    )


def _import(rec: Recordings) -> str:
    return f"{rec.import_s:.1f}" + (" (cached)" if rec.cached else "")
