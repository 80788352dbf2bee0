"""The results of make bench: a rich table on the terminal and bench/RESULTS.md, both saying
on which machine, with which versions, and how busy the machine was."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import platform
import subprocess
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from bench import settings
from bench.rows import Row, Side

RESULTS = Path(__file__).with_name("RESULTS.md")
HEADERS = [
    "row",
    "recordings",
    "import s",
    "virt",
    "req/s",
    "p50 ms",
    "p99 ms",
    "RSS MiB",
    "ready s",
    "baseline",
    "req/s",
    "p50 ms",
    "p99 ms",
    "RSS MiB",
    "ready s",
    "ratio",
    "target",
    "verdict",
]


@dataclass(frozen=True, slots=True)
class Machine:
    cpu: str
    cores: int
    load_average: float
    python: str
    virt_commit: str
    mitmproxy: str
    uvicorn: str
    wrk: str
    date: str

    def lines(self) -> list[str]:
        return [
            f"machine: {self.cpu}, {self.cores} cores, load average {self.load_average:.2f} "
            "at the start",
            f"versions: Python {self.python}, virt {self.virt_commit}, mitmproxy "
            f"{self.mitmproxy}, uvicorn {self.uvicorn}, {self.wrk}",
            f"date: {self.date}",
            f"load: {settings.CONNECTIONS} connections, {settings.WARMUP:g} s warm-up then "
            f"{settings.SECONDS:g} s measured, each request a uniformly random entry",
        ]


def machine() -> Machine:
    """Taken before the first server starts, so the load average is the machine's own."""
    return Machine(
        cpu=_cpu_model(),
        cores=os.cpu_count() or 0,
        load_average=os.getloadavg()[0],
        python=platform.python_version(),
        virt_commit=_commit(),
        mitmproxy=importlib.metadata.version("mitmproxy"),
        uvicorn=importlib.metadata.version("uvicorn"),
        wrk=_output(["wrk", "-v"]).split(" Copyright")[0].strip() or "wrk (version unknown)",
        date=datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _commit() -> str:
    root = Path(__file__).parent.parent
    commit = _output(["git", "-C", str(root), "rev-parse", "--short", "HEAD"]).strip()
    if not commit:
        return "(not a git checkout)"
    dirty = _output(["git", "-C", str(root), "status", "--porcelain", "--", "virt"]).strip()
    return commit + (" with uncommitted changes to virt/" if dirty else "")


def _output(cmd: list[str]) -> str:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    except OSError:
        return ""
    return done.stdout + done.stderr


def cells(row: Row) -> list[str]:
    """The row's cells, plain text, in the order of HEADERS."""
    ratio = row.ratio
    return [
        row.title,
        "" if row.size is None else f"{row.size:,}",
        row.import_s,
        *_side(row.virt),
        *_side(row.base),
        "" if ratio is None else f"{ratio:.2f}x",
        _target(row),
        row.verdict,
    ]


def _target(row: Row) -> str:
    if row.p99_target_ms is not None:
        return f"p99 <= {row.p99_target_ms:g} ms"
    return "" if row.target is None else f">= {row.target:g}x"


def _side(s: Side | None) -> list[str]:
    if s is None:
        return ["", "", "", "", "", ""]
    return [
        s.name,
        f"{s.load.rps:,.0f}",
        f"{s.load.p50_ms:.2f}",
        f"{s.load.p99_ms:.2f}",
        f"{s.rss_mib:,.0f}",
        f"{s.ready_s:.2f}",
    ]


COLOURS = {"PASS": "green", "MISS": "red", "FAIL": "bold red", "n/a": "yellow"}


def table(rows: list[Row], m: Machine) -> Table:
    t = Table(title="virt make bench (issue #15)", caption="\n".join(m.lines()))
    for h in HEADERS:
        t.add_column(h, justify="left" if h in ("row", "virt", "baseline", "verdict") else "right")
    for row in rows:
        c = cells(row)
        c[-1] = f"[{COLOURS[row.verdict]}]{c[-1]}"
        t.add_row(*c)
    return t


def targets(rows: list[Row]) -> list[tuple[str, str, str]]:
    """The direct door's targets beyond its ratio (issue #15): p99, steadiness at a million,
    readiness at a million, each (target, measured, verdict)."""
    found: list[tuple[str, str, str]] = []
    direct = {r.size: r for r in rows if r.title == "direct door" and r.virt is not None}
    for size, r in sorted(direct.items()):
        assert r.virt is not None
        p99 = r.virt.load.p99_ms
        found.append((f"direct door p99 < 5 ms at {size:,}", f"{p99:.2f} ms", _v(p99 < 5, r)))
    big, small = direct.get(1_000_000), direct.get(1_000)
    if big is not None and small is not None:
        assert big.virt is not None and small.virt is not None
        share = big.virt.load.rps / small.virt.load.rps if small.virt.load.rps else 0.0
        measured = f"{share:.0%}"
        if big.base is not None and small.base is not None and small.base.load.rps:
            # the same steadiness of the bare app, measured in the same run: what the machine
            # itself loses between a small and a large working set
            measured += f" (bare app: {big.base.load.rps / small.base.load.rps:.0%})"
        found.append(
            ("direct door at 1,000,000 within 10% of 1,000", measured, _v(share >= 0.9, big))
        )
    if big is not None:
        assert big.virt is not None
        ready = big.virt.ready_s
        found.append(("direct door ready < 3 s at 1,000,000", f"{ready:.2f} s", _v(ready < 3, big)))
    else:
        found.append(("direct door at 1,000,000", "not measured: BENCH_SIZES has no 1000000", ""))
    return found


def _v(ok: bool, row: Row) -> str:
    return "FAIL" if row.failed else "PASS" if ok else "MISS"


def targets_table(rows: list[Row]) -> Table:
    t = Table(title="more targets of the direct door")
    for h in ("target", "measured", "verdict"):
        t.add_column(h)
    for target, measured, verdict in targets(rows):
        t.add_row(target, measured, f"[{COLOURS.get(verdict, 'white')}]{verdict}")
    return t


BUSY = 0.25
"""Cores of other work during a load past which the report warns that the machine was busy."""


def problems(rows: list[Row]) -> list[str]:
    found = []
    for r in rows:
        where = r.title + ("" if r.size is None else f" at {r.size:,}")
        found += [f"{where}: {why}" for why in (r.problem, r.skipped) if why]
        found += [f"{where}: {note}" for note in r.notes]
        sides = [s for s in (r.virt, r.base) if s is not None]
        if any(s.others > BUSY for s in sides):
            during = ", ".join(f"{s.others:.2f} during {s.name}" for s in sides)
            found.append(f"{where}: other work on the machine took cores ({during}): rerun it")
    return found


def markdown(rows: list[Row], m: Machine, guide: str) -> str:
    """bench/RESULTS.md: the same table as the terminal's, with the machine and a reading guide."""
    out = ["# make bench results", "", *(f"- {line}" for line in m.lines()), ""]
    out += ["| " + " | ".join(HEADERS) + " |"]
    out += ["|" + "|".join("---" if h in ("row", "virt", "baseline") else "--:" for h in HEADERS)]
    out[-1] += "|"
    out += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    out += ["", "| target | measured | verdict |", "|---|---|---|"]
    out += [f"| {a} | {b} | {c} |" for a, b, c in targets(rows)]
    notes = problems(rows)
    if notes:
        out += ["", "## Notes", ""]
        out += ["- " + n.replace("|", "\\|").replace("\n", "\n  ") for n in notes]
    out += ["", "## How to read it", "", guide.strip(), ""]
    return "\n".join(out)
