"""make bench: virt as users start it, on the workload of issue #15, beside the fastest baseline
for each row, in the same run.

The workload (bench/workload.py): N recorded entries of one JSON API in a HAR file. Entry i is
`POST /api/search` with a JSON body when i % 10 == 0 (the body alone tells those apart), else
`GET /api/items/{i}?page={i % 7}`; every answer is 200, application/json, 300 bytes, with
Content-Length. The HAR is imported with the real `virt import --db F file.har` (timed), and
kept in bench/.cache keyed by N, a hash of the generator and the store's schema version, so a
re-run reuses it. Load: wrk, 1 thread, BENCH_CONNECTIONS connections, each request a uniformly
random entry (GETs and POSTs with their bodies; bench/workload.lua), BENCH_WARMUP seconds of
warm-up, then BENCH_SECONDS measured. wrk's Lua counts every answer that is not 200, and
before each load 50 answers are compared byte for byte with the recording: a row with a wrong
answer says FAIL, names the first one, and make bench exits 1.

Rows, each PASS or MISS against its target in issue #15 (rows 6 and 9: issue #16, row 7:
issue #18, row 8: issue #19):
1. direct door: `virt serve --db F --port P --proxy-port Q` with its default flags (stderr to a
   file; only --confdir points at the run's folder, so that the CA is the run's own), at every
   size, beside the bare app: Starlette on uvicorn with uvloop and httptools,
   one worker, no access log, answering from a dict keyed by (method, path, query, body) read
   from the same HAR. Target 0.6x; also p99 < 5 ms, and at 1,000,000 within 10% of the 1,000
   figure and ready (first answer) in under 3 s.
2. proxy door, HTTP: the same load as absolute-form requests (`GET http://api.bench.local/...`,
   as an HTTP_PROXY client sends them) to the proxy door, beside `mitmdump --server-replay` on
   the same HAR (mitmproxy reads HAR itself) with server_replay_reuse, server_replay_extra=404,
   connection_strategy=lazy, upstream_cert=false and server_replay_refresh=false, so it never
   connects upstream and does no more work than virt. Target 2x.
3. proxy door, HTTPS: CONNECT api.bench.local:443, TLS with the proxy's CA, then keep-alive
   requests (bench/tlsload.py, asyncio on uvloop, since wrk cannot CONNECT; p50 and p99 from
   its own clock). Recordings from https://api.bench.local, imported into a database of their
   own. Beside mitmdump as in row 2. The notes give the generator's CPU: near 100% it, not the
   proxy, is what saturated. Target 2x.
   Rows 2 and 3 run at sizes up to BENCH_PROXY_MAX.
4. --workers 2 vs --workers 1: virt's own ratio on the direct door, target 1.7x on 2 cores;
   "not supported by this virt" while `virt serve` has no --workers. A note gives the same two
   loads on the bare app (uvicorn --workers 2 and 1): what the machine allows while wrk takes
   its share of the same two cores.
5. recording: `virt record` (regular proxy mode, a fresh database) forwarding absolute-form
   requests to a local upstream (the bare app with the smallest size's entries) beside plain
   `mitmdump` forwarding to the same upstream, alternated three times (mitmdump first), each
   side's best load counting, as in row 8. Target 0.8x.
6. fallback: requests that were never recorded, on the recorded routes (bench/unrecorded.py):
   `GET /api/items/{N+i}?page={i % 7}`, items past the recorded ones, and `POST /api/search`
   with a `q` of "new-{i}", answered through the direct door of `virt serve` with its default
   flags, at every size. Before the load, 50 of them must come back 200 with
   `X-Virt-Match: fallback;...` and the values of the request in place (the item's id and page,
   the search's q and page), or the row says FAIL. The load is sent on one connection, one
   request at a time, so that its latency is what one fallback answer costs (issue #16: "a
   fallback answer costs at most 5 ms at p99" at 100,000 recordings); at 32 connections the
   p99 is mostly the wait behind the other 31, and a note gives that load too. Beside it, the
   recorded requests on the same server the same way, so the ratio is the fallback's speed
   against an exact match's. "not supported by this virt" while `virt serve` has no
   --no-fallback. Another note gives the 32-connection load on `virt serve --no-fallback`,
   where each is a 599 miss: what matching costs before the fallback starts.

7. web page: the list views of /__virt/ui (issue #18) on `virt serve` with its default flags,
   at every size, after 1,000 recorded requests filled the journal: the journal, the
   recordings list (first page and a page after the middle id), a full-text search for one
   entry and one for a word in every entry, the routes list and one route, each asked 20
   times in a row with httpx (bench/uipages.py). Target (issue #18): p99 under 200 ms at
   1,000,000 recordings; the notes give each view's figures. `python -m bench.uipages` runs
   this row alone.
8. faults off: `virt serve` with its default flags (no fault plan, --latency none) beside the
   same command run from virt as it was before fault plans (issue #19; bench/faultsoff.py),
   on the direct door's load, at every size, alternated three times with each side's best load
   counting. Target 0.95x; a note gives the load with a plan
   whose one rule covers no route of the workload. `python -m bench.faultsoff` runs this row
   alone.
9. exact, fallback on: `virt serve` with its default flags beside `virt serve` from virt as it
   was before the fallback (issue #16; bench/fallbackoff.py), which imports the same HAR with
   its own `virt import` (it reads an older schema), on the direct door's load (every request
   recorded), alternated three times as row 8, at sizes up to 100,000. Target 0.95x.
   `python -m bench.fallbackoff` runs this row alone.

Both mitmdumps run with -q (no line per flow), the stronger baseline; virt runs with its
default flags, as users start it. Servers run one at a time, each in turn, in a temporary
folder (no virt.toml applies) with no VIRT_* variables. Columns: req/s and the p50 and p99
latency of the measured load, client-side; RSS of the server and its workers after the load;
ready s from spawning the server until its first answer (for virt serve with the database in
the page cache); import s for `virt import` of the HAR ("cached": timed when it was built).
On a shared machine a burst of other work during one side of a row skews its ratio: the notes
under the table name every load during which other processes kept more than a quarter of a
core busy (bench/cpu.py). Rerun those rows before believing them.

Settings (environment):
  BENCH_SIZES        recordings per database          (1000,100000,1000000)
  BENCH_SECONDS      seconds of measured load         (15), after BENCH_WARMUP seconds (3)
  BENCH_CONNECTIONS  connections                      (32)
  BENCH_PROXY_MAX    largest size of the proxy rows   (100000)
  BENCH_CACHE        where HAR files and databases are kept (bench/.cache)

Time on 2 cores: about 30 minutes once the recordings are cached (rows 5, 8 and 9 alternate
three loads a side). The first run also writes and imports the HAR files: 1,000,000 entries
are a 1 GB HAR that `virt import` takes about 10 minutes to bring in (a 2.4 GB database), and
row 9's earlier virt imports the smaller ones again, so count 12 more minutes for it. The bare
app takes half a minute to read the largest HAR. `BENCH_SIZES=1000 make bench` is a quick look
(about 8 minutes; add BENCH_SECONDS=3 for a quicker one). Results are printed and written to
bench/RESULTS.md.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from rich.console import Console

from bench import fallbackoff, faultsoff, recordings, report, rows, settings, uipages, wrk
from bench.rows import Row

GUIDE = __doc__ or ""


def main() -> None:
    wrk.check()
    err = Console(stderr=True)
    out = Console(width=220)
    machine = report.machine()
    results: list[Row] = []

    def add(row: Row) -> None:
        results.append(row)
        err.print(f"{row.title} {'' if row.size is None else f'{row.size:,} '}-> {row.verdict}")

    # servers run in a folder of their own: no virt.toml applies, and their logs stay there
    cwd = Path(tempfile.mkdtemp(prefix="virt-bench-"))
    for size in settings.SIZES:
        http = recordings.get(size, "http", err)
        err.print(f"{size:,}: direct door")
        exact = rows.direct(http, cwd)
        add(exact)
        if size <= settings.PROXY_MAX:
            err.print(f"{size:,}: proxy door, HTTP")
            add(rows.proxy_http(http, cwd))
            err.print(f"{size:,}: proxy door, HTTPS")
            add(rows.proxy_https(recordings.get(size, "https", err), cwd))
        err.print(f"{size:,}: --workers")
        add(rows.workers(http, cwd))
        err.print(f"{size:,}: fallback")
        add(rows.fallback(http, cwd))
        err.print(f"{size:,}: web page")
        add(uipages.row(http, cwd))
        err.print(f"{size:,}: faults off")
        add(faultsoff.row(http, cwd))
        if size <= fallbackoff.MAX_SIZE:
            err.print(f"{size:,}: exact, fallback on")
            add(fallbackoff.row(http, cwd))
    err.print("recording")
    add(rows.recording(recordings.get(min(settings.SIZES), "http", err), cwd))
    out.print(report.table(results, machine))
    out.print(report.targets_table(results))
    for line in report.problems(results):
        out.print(f"[yellow]{line}", highlight=False)
    report.RESULTS.write_text(report.markdown(results, machine, GUIDE))
    out.print(f"written to {report.RESULTS}")
    if any(r.failed for r in results):
        out.print(f"[red]make bench failed; the servers' logs are in {cwd}")
        sys.exit(1)
    shutil.rmtree(cwd, ignore_errors=True)


if __name__ == "__main__":
    main()
