"""The two servers under load, each a subprocess: `virt serve` (the real CLI) and the bare app."""

from __future__ import annotations

import http.client
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HEALTH = "/__virt/health"
# servers run in another folder, yet import bench (and virt) from this checkout
_ENV = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent.absolute())}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(port: int, target: str, timeout: float = 30) -> int:
    """The status of GET `target`; raises OSError while nothing listens."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", target)
        response = conn.getresponse()
        response.read()
        return response.status
    finally:
        conn.close()


class Server:
    """A server process, started on a free port; the clock starts just before the spawn."""

    def __init__(self, cmd: list[str], port: int, cwd: Path) -> None:
        self.port = port
        # stderr goes to a file, never a pipe nobody reads: a server that dies early says why
        self.log = cwd / f"server-{port}.log"
        with self.log.open("wb") as log:
            self.started = time.perf_counter()
            self.proc = subprocess.Popen(
                cmd, cwd=cwd, env=_ENV, stdout=subprocess.DEVNULL, stderr=log
            )

    @classmethod
    def virt(cls, db: Path, cwd: Path) -> Server:
        """`virt serve` on `db`, quiet (no log line per request), direct door only. `cwd` should
        hold no virt.toml, so default matching rules apply."""
        port = free_port()
        cmd = [sys.executable, "-m", "virt", "-q", "serve", "--db", str(db.absolute())]
        return cls([*cmd, "--port", str(port), "--no-proxy"], port, cwd)

    @classmethod
    def bare(cls, paths: Path, cwd: Path) -> Server:
        port = free_port()
        cmd = [sys.executable, "-m", "bench.baseline", str(port), str(paths.absolute())]
        return cls(cmd, port, cwd)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait(self, target: str, timeout: float = 300) -> float:
        """Seconds from spawn until GET `target` answers 200, polled every 5 ms."""
        while time.perf_counter() - self.started < timeout:
            if self.proc.poll() is not None:
                err = self.log.read_text(errors="replace")[-4000:]
                raise SystemExit(f"server exited early ({self.proc.returncode}):\n{err}")
            try:
                status = get(self.port, target)
            except OSError:
                time.sleep(0.005)
                continue
            if status != 200:
                raise SystemExit(f"GET {target} answered {status}")
            return time.perf_counter() - self.started
        raise SystemExit(f"{self.url}{target} did not answer within {timeout:g} s")

    def rss_mib(self) -> float:
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
        return 0.0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
