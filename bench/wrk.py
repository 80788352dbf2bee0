"""Load from wrk, a C load generator, so the client is not what saturates first."""

from __future__ import annotations

import json
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

SCRIPT = Path(__file__).with_name("workload.lua")
MISSING = "wrk is not installed: run `make bench`, which installs it, or apt-get install wrk"


@dataclass(frozen=True, slots=True)
class Load:
    """What one load measured; latencies are client-side, in milliseconds."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    not_ok: int
    """Answers whose status was not 200."""
    socket_errors: int
    """Connect, read and write errors and timeouts."""
    first_bad: str = ""
    """The status and start of the body of the first answer that was not 200."""
    client_cpu: float | None = None
    """The load generator's CPU time over the measured seconds (1.0 is one whole core), where
    it measures it."""

    @property
    def rps(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    @property
    def failed(self) -> int:
        return self.not_ok + self.socket_errors


def check() -> None:
    if shutil.which("wrk") is None:
        raise SystemExit(MISSING)


def command(
    url: str,
    size: int,
    seconds: float,
    connections: int,
    absolute: str = "",
    host: str = "",
    mode: str = "",
) -> list[str]:
    """wrk with bench/workload.lua on `url`: one thread, `connections` connections, random
    entries of `size`; `absolute` (http://host) makes the targets absolute-form, for a proxy;
    `mode` "fallback" sends requests never recorded instead (bench/unrecorded.py)."""
    return [
        "wrk",
        "-t1",
        f"-c{connections}",
        f"-d{seconds:g}s",
        "--timeout",
        "10s",
        "--latency",
        "-s",
        str(SCRIPT),
        url,
        "--",
        str(size),
        absolute,
        host,
        mode,
    ]


def run(
    url: str,
    size: int,
    seconds: float,
    connections: int,
    absolute: str = "",
    host: str = "",
    mode: str = "",
) -> Load:
    cmd = command(url, size, seconds, connections, absolute, host, mode)
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    return parse(done.stdout, done.stderr, cmd)


def parse(stdout: str, stderr: str, cmd: list[str]) -> Load:
    """The BENCH line that workload.lua's done() (or bench/tlsload.py) prints; a run without
    one fails loudly."""
    for line in stdout.splitlines():
        if line.startswith("BENCH "):
            r = json.loads(line.removeprefix("BENCH "))
            return Load(
                requests=r["requests"],
                seconds=r["duration_us"] / 1e6,
                p50_ms=r["latency_p50_us"] / 1e3,
                p99_ms=r["latency_p99_us"] / 1e3,
                not_ok=r["not_ok"],
                socket_errors=r["socket_errors"],
                first_bad=r["first_bad"],
                client_cpu=r.get("client_cpu"),
            )
    raise SystemExit(f"wrk gave no result ({' '.join(cmd)}):\n{stdout}{stderr}")
