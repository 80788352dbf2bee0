"""The recordings of each size: the workload's HAR file, imported with the real `virt import`,
kept in a cache folder so that a re-run reuses them.

A cached set is named after its size, the recorded scheme, a hash of the generator
(bench/workload.py) and the store's SCHEMA_VERSION: a change to the workload or to the store's
schema builds a fresh one instead of serving (or migrating) a stale file.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from bench import workload
from bench.servers import ENV
from virt.store import SCHEMA_VERSION

CACHE = Path(os.environ.get("BENCH_CACHE") or Path(__file__).parent / ".cache")


@dataclass(frozen=True, slots=True)
class Recordings:
    size: int
    scheme: str
    har: Path
    db: Path
    import_s: float
    """How long `virt import` took, whether now or when the set was cached."""
    cached: bool

    @property
    def db_mib(self) -> float:
        return self.db.stat().st_size / 2**20


def fingerprint() -> str:
    """What a cached set depends on: the generator's source and the store's schema."""
    h = hashlib.sha256(Path(workload.__file__).read_bytes())
    h.update(f"\0{SCHEMA_VERSION}".encode())
    return h.hexdigest()[:10]


def get(size: int, scheme: str, err: Console) -> Recordings:
    """The recordings of `size` entries from `scheme`://api.bench.local, built when missing."""
    CACHE.mkdir(parents=True, exist_ok=True)
    name = f"{scheme}-{size}-s{SCHEMA_VERSION}-{fingerprint()}"
    folder = CACHE / name
    if not (folder / "import.json").exists():
        _prune(size, scheme)
        _build(folder, size, scheme, err)
        cached = False
    else:
        cached = True
    meta = json.loads((folder / "import.json").read_text())
    return Recordings(
        size, scheme, folder / "recordings.har", folder / "recordings.db", meta["import_s"], cached
    )


def _prune(size: int, scheme: str) -> None:
    """Removes sets of this size and scheme from another generator or schema, and the
    databases of the bench before the HAR workload: they are never served again."""
    for stale in CACHE.glob(f"{scheme}-{size}-*"):
        if stale.is_dir():
            shutil.rmtree(stale)
        else:
            stale.unlink()
    for old in CACHE.glob(f"virt-*-{size}.db*"):
        old.unlink()


def _build(folder: Path, size: int, scheme: str, err: Console) -> None:
    partial = folder.with_name(folder.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir()
    har = partial / "recordings.har"
    err.print(f"{size:,} {scheme}: writing the HAR file")
    workload.write_har(size, har, scheme)
    err.print(f"{size:,} {scheme}: virt import --db recordings.db recordings.har")
    db = partial / "recordings.db"
    cmd = [sys.executable, "-m", "virt", "import", "--db", str(db), str(har)]
    start = time.perf_counter()
    # in the cache folder: a virt.toml where make bench runs must not change what is imported
    done = subprocess.run(cmd, cwd=partial, env=ENV, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"virt import failed ({done.returncode}):\n{done.stdout}{done.stderr}")
    (partial / "import.json").write_text(json.dumps({"import_s": seconds, "size": size}))
    # a run stopped halfway leaves only .partial, rebuilt next time
    os.replace(partial, folder)
