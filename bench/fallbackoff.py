"""Row 9: recorded requests answer as fast as before the fallback existed (issue #16: "exact
and scored rows do not get slower than before this issue").

`virt serve` with its default flags (fallback on) beside `virt serve` from virt as it was
before issue #16 (BEFORE; see bench/before.py), on the direct door's load (every request
recorded: exact matches), alternated three times, each side's best load counting. The
earlier virt reads an older schema, so it imports the same HAR file into a database of its own
with its own `virt import`, cached beside its tree. At sizes up to MAX_SIZE: at 1,000,000 that
import would add ten minutes to make bench. Target: 0.95x.

Run it alone with `python -m bench.fallbackoff` (BENCH_SIZES as for make bench).
"""

from __future__ import annotations

from pathlib import Path

from bench import before, recordings, servers
from bench.rows import Row

BEFORE = "2e7aa0a^"
"""The commit before issue #16's first: no fallback stage, no schemas, no learned templates."""
TARGET = 0.95
ROUNDS = 3
MAX_SIZE = 100_000


def row(rec: recordings.Recordings, cwd: Path) -> Row:
    """The fallback-in-place row at `rec.size` recordings."""
    row = Row("exact, fallback on", rec.size, TARGET)
    if not servers.supports("serve", "--no-fallback"):
        row.skipped = "not supported by this virt (virt serve has no --no-fallback)"
        return row
    if rec.size > MAX_SIZE:
        row.skipped = f"measured up to {MAX_SIZE:,} recordings (the earlier virt's own import)"
        return row
    tree = before.tree(BEFORE, "fallback")
    db = before.imported(tree, rec)
    before.alternate(
        row,
        lambda: servers.virt_serve(rec.db, cwd, ["--no-proxy"])[0],
        lambda: before.serve(tree, db, cwd, "virt before fallback"),
        rec,
        ROUNDS,
    )
    return row


def main() -> None:
    """This row alone, at each of BENCH_SIZES, printed."""
    before.run_alone(row, "exact, fallback on", "before fallback")


if __name__ == "__main__":
    main()
