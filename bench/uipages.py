"""Row 7: the web page's list views (issue #18) against `virt serve` with its default flags.

Before timing, 1,000 recorded requests fill the journal, so its list is full. Then each view is
asked PAGE_ASKS times in a row with httpx (one connection, one at a time, after one untimed
ask): the journal, the recordings list's first page, a page deep in it (after the middle id),
a full-text search for one entry and one for a word in every entry, the routes list and one
route. The row's p50 and p99 are
those of every ask together, held to a p99 of UI_P99_MS; the notes give each view's own.

Run it alone with `python -m bench.uipages` (BENCH_SIZES as for make bench).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx
from rich.console import Console

from bench import recordings, servers, settings, workload
from bench.rows import Row, Side, run_side
from bench.servers import ServerFailed
from bench.wrk import Load

UI_P99_MS = 200.0
"""Issue #18: the page answers its list views in under this, at 1,000,000 recordings."""
PAGE_ASKS = 20
"""Timed asks of each view."""
FILL = 1000
"""Recorded requests sent first: the journal keeps the last 1,000."""


def views(size: int) -> list[tuple[str, str]]:
    """(name, path) of each view timed at `size` recordings."""
    middle = size // 2
    # entry `middle` is a POST /api/search whose body names "item-{middle}": one of a million
    wanted = middle - middle % 10
    route = quote(f"GET http://{workload.HOST}:80/api/items/{{id}}")
    return [
        ("journal", "/__virt/ui"),
        ("journal, misses", "/__virt/ui?kind=miss"),
        ("recordings", "/__virt/ui/recordings"),
        ("recordings, deep page", f"/__virt/ui/recordings?after={middle}"),
        ("search", f"/__virt/ui/recordings?q=item-{wanted}"),
        ("search, a word in every recording", "/__virt/ui/recordings?q=lorem"),
        ("routes", "/__virt/ui/routes"),
        ("route", f"/__virt/ui/route?name={route}"),
    ]


def row(rec: recordings.Recordings, cwd: Path) -> Row:
    """The web page row at `rec.size` recordings."""
    row = Row("web page", rec.size, None, p99_target_ms=UI_P99_MS)
    timed: dict[str, list[float]] = {}

    def virt() -> Side:
        server = servers.virt_serve(rec.db, cwd)[0]
        try:
            ready = server.ready()
            if not servers_have_ui(server.port):
                raise ServerFailed("virt serve has no web page at /__virt/ui")
            for i in range(FILL):
                servers.request(server.port, workload.entry(i % rec.size))
            with httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60) as c:
                for name, path in views(rec.size):
                    timed[name] = _times(c, name, path)
            server.check_alive()
            every = [t for ts in timed.values() for t in ts]
            load = Load(
                requests=len(every),
                seconds=sum(every) / 1000,
                p50_ms=statistics.median(every),
                p99_ms=_p99(every),
                not_ok=0,
                socket_errors=0,
            )
            return Side("virt serve, /__virt/ui", load, server.rss_mib(), ready)
        finally:
            server.stop()

    row.virt = run_side(virt, row)
    for name, ts in timed.items():
        row.notes.append(
            f"{name}: p50 {statistics.median(ts):.1f} ms, p99 {_p99(ts):.1f} ms, "
            f"slowest {max(ts):.1f} ms"
        )
    return row


def servers_have_ui(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/__virt/ui", timeout=30).status_code != 404


def _times(c: httpx.Client, name: str, path: str) -> list[float]:
    """Milliseconds of PAGE_ASKS asks of `path`, after one untimed; any answer but 200 fails."""
    out = []
    for n in range(PAGE_ASKS + 1):
        start = time.perf_counter()
        r = c.get(path)
        took = (time.perf_counter() - start) * 1000
        if r.status_code != 200:
            raise ServerFailed(f"{name} ({path}) answered {r.status_code}: {r.text[:200]!r}")
        if n:
            out.append(took)
    return out


def _p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]


def main() -> None:
    """This row alone, at each of BENCH_SIZES, printed."""
    err = Console(stderr=True)
    cwd = Path(tempfile.mkdtemp(prefix="virt-bench-ui-"))
    failed = False
    for size in settings.SIZES:
        r = row(recordings.get(size, "http", err), cwd)
        v = r.virt
        figures = f"p50 {v.load.p50_ms:.1f} ms, p99 {v.load.p99_ms:.1f} ms" if v else r.problem
        print(f"web page at {size:,}: {figures} -> {r.verdict}")
        for note in r.notes:
            print(f"  {note}")
        failed = failed or r.failed
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
