"""Row 8: faults and latency off cost nothing (issue #19).

`virt serve` with its default flags (no fault plan, --latency none) beside the same command run
from virt as it was before fault plans existed (BEFORE, the commit that precedes them; see
bench/before.py), on the direct door's load, at every size, alternated three times
(before, now, before, now, before, now), each side's best load counting. Target: 0.95x. A
note gives the same load with a plan whose one rule covers no route of the workload: what a
plan costs on requests it does not cover.

Run it alone with `python -m bench.faultsoff` (BENCH_SIZES as for make bench).
"""

from __future__ import annotations

from pathlib import Path

from bench import before, recordings, servers
from bench.rows import Row, _direct_side, run_side

BEFORE = "1ce8147^"
"""The commit before fault plans: the last virt without a fault check on its reply path."""
TARGET = 0.95
ROUNDS = 3
"""Loads of each side, alternated; each side's best counts. Two were not enough: on this
shared 2-core machine the same two servers measured between 0.92x and 1.05x of each other."""


def row(rec: recordings.Recordings, cwd: Path) -> Row:
    """The faults-off row at `rec.size` recordings."""
    row = Row("faults off", rec.size, TARGET)
    if not servers.supports("serve", "--fault"):
        row.skipped = "not supported by this virt (virt serve has no --fault)"
        return row
    tree = before.tree(BEFORE, "faults")
    before.alternate(
        row,
        lambda: servers.virt_serve(rec.db, cwd, ["--no-proxy"])[0],
        lambda: before.serve(tree, rec.db, cwd, "virt before faults"),
        rec,
        ROUNDS,
    )
    if not row.problem:
        extra = ["--no-proxy", "--fault", "GET /never/{id}: 503"]
        idle = run_side(
            lambda: _direct_side(lambda: servers.virt_serve(rec.db, cwd, extra)[0], rec), row
        )
        if idle is not None:
            row.notes.append(
                f"a plan covering no route of the load: "
                f"{idle.load.rps:,.0f} req/s, p99 {idle.load.p99_ms:.2f} ms"
            )
    return row


def main() -> None:
    """This row alone, at each of BENCH_SIZES, printed."""
    before.run_alone(row, "faults off", "before faults")


if __name__ == "__main__":
    main()
