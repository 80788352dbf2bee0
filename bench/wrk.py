"""Throughput from wrk: a C load generator, so the client is not what saturates first."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("paths.lua")
MISSING = "wrk is not installed: run `make bench`, which installs it, or apt-get install wrk"


@dataclass(frozen=True, slots=True)
class Load:
    """What one wrk run measured; latencies are client-side, in milliseconds."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    failed: int
    """Responses that were not 2xx or 3xx, plus socket errors and timeouts."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0


def check() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(MISSING)


def run(url: str, paths: Path, seconds: float, connections: int, threads: int = 1) -> Load:
    """Send GET requests to `url` + each line of `paths` in turn for `seconds`."""
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(paths),
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    for line in done.stdout.splitlines():
        if line.startswith("BENCH "):
            r = json.loads(line.removeprefix("BENCH "))
            return Load(
                requests=r["requests"],
                seconds=r["duration_us"] / 1e6,
                p50_ms=r["latency_p50_us"] / 1e3,
                p99_ms=r["latency_p99_us"] / 1e3,
                failed=r["status_errors"] + r["socket_errors"],
            )
    raise SystemExit(f"wrk gave no result ({' '.join(cmd)}):\n{done.stdout}{done.stderr}")
