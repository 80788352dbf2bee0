"""virt as it was at an earlier commit, run beside virt as it is: the rows that show a feature
costs nothing where it is not used (faults off, fallback in place).

The earlier virt/ package is extracted with `git archive` into the bench cache once and put
first on sys.path of its process; a lock file keeps concurrent runs from extracting twice, and
a half-extracted folder is never used (it is renamed when done). An earlier virt that cannot
read today's database imports the same HAR file into a database of its own, also cached.
"""

from __future__ import annotations

import fcntl
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.console import Console

from bench import recordings, servers, settings
from bench.recordings import CACHE, Recordings
from bench.rows import Row, Side, _direct_side, best_of

REPO = Path(__file__).resolve().parent.parent


def _sha(commit: str) -> str:
    return subprocess.run(
        ["git", "rev-parse", "--short=12", commit],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def tree(commit: str, name: str) -> Path:
    """virt/ as of `commit`, extracted once into the cache as virt-before-NAME-SHA."""
    sha = _sha(commit)
    CACHE.mkdir(parents=True, exist_ok=True)
    folder = CACHE / f"virt-before-{name}-{sha}"
    with (CACHE / f"virt-before-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "virt" / "__init__.py").is_file():
            partial = Path(tempfile.mkdtemp(prefix="virt-before-", dir=CACHE))
            archive = subprocess.run(
                ["git", "archive", sha, "virt"], cwd=REPO, capture_output=True, check=True
            ).stdout
            subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
            partial.rename(folder)
    return folder


def command(folder: Path, *args: str) -> list[str]:
    """`virt ARGS` run from the virt/ package in `folder`."""
    boot = (
        f"import sys, runpy; sys.path.insert(0, {str(folder)!r}); "
        "runpy.run_module('virt', run_name='__main__')"
    )
    return [sys.executable, "-c", boot, *args]


def serve(folder: Path, db: Path, cwd: Path, name: str) -> servers.Server:
    """The earlier `virt serve` on the direct door alone, as the bench's virt side runs."""
    port = servers.free_port()
    cmd = command(folder, "serve", "--db", str(db.absolute()), "--port", str(port))
    cmd += ["--no-proxy", "--confdir", str(cwd / "confdir-virt")]
    return servers.Server(name, cmd, port, cwd)


def imported(folder: Path, rec: Recordings) -> Path:
    """`rec`'s HAR file imported by the earlier virt in `folder`, once, into the cache; a
    database whose import did not finish (no .done beside it) is made again."""
    db = folder / f"{rec.scheme}-{rec.size}.db"
    done_mark = folder / f"{db.name}.done"
    with (folder / "import.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not done_mark.is_file():
            for stale in (db, *(Path(f"{db}{end}") for end in ("-wal", "-shm", ".key"))):
                stale.unlink(missing_ok=True)
            cmd = command(folder, "import", "--db", str(db), str(rec.har.absolute()))
            done = subprocess.run(
                cmd, cwd=folder, env=servers.ENV, capture_output=True, text=True, check=False
            )
            if done.returncode != 0:
                raise SystemExit(
                    f"virt import of {folder.name} failed ({done.returncode}):\n"
                    f"{done.stdout}{done.stderr}"
                )
            done_mark.touch()
    return db


def alternate(
    row: Row,
    now: Callable[[], servers.Server],
    then: Callable[[], servers.Server],
    rec: Recordings,
    rounds: int,
) -> None:
    """The direct door's load on the earlier virt (`then`, the row's baseline) and on virt as
    it is (`now`), alternated `rounds` times, each side's best load kept (rows.best_of)."""

    def load(start: Callable[[], servers.Server]) -> Callable[[], Side]:
        return lambda: _direct_side(start, rec)

    best_of(row, load(then), load(now), rounds)


def run_alone(
    row: Callable[[Recordings, Path], Row], title: str, then: str, sizes: Sequence[int] = ()
) -> None:
    """`row` alone, at each of `sizes` (BENCH_SIZES when empty), printed; exits 1 on a FAIL."""
    err = Console(stderr=True)
    cwd = Path(tempfile.mkdtemp(prefix="virt-bench-before-"))
    failed = False
    for size in sizes or settings.SIZES:
        r = row(recordings.get(size, "http", err), cwd)
        v, b = r.virt, r.base
        if v is not None and b is not None:
            print(
                f"{title} at {size:,}: {v.load.rps:,.0f} req/s (p99 {v.load.p99_ms:.2f} ms) "
                f"beside {b.load.rps:,.0f} {then} (p99 {b.load.p99_ms:.2f} ms): "
                f"{r.ratio:.2f}x -> {r.verdict}"
            )
        else:
            print(f"{title} at {size:,}: {r.problem or r.skipped} -> {r.verdict}")
        for note in r.notes:
            print(f"  {note}")
        failed = failed or r.failed
    sys.exit(1 if failed else 0)
