"""The processes under load, each a subprocess started as a user starts it: `virt serve`,
`virt record`, the bare app, `mitmdump`. Each logs to a file, never to a pipe nobody reads."""

from __future__ import annotations

import contextlib
import http.client
import os
import random
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from bench import unrecorded, workload

# servers run in another folder, yet import bench (and virt) from this checkout; no VIRT_*
# setting of the shell that runs make bench may change virt's defaults
ENV = {k: v for k, v in os.environ.items() if not k.startswith("VIRT_")}
ENV["PYTHONPATH"] = str(Path(__file__).parent.parent.absolute())
for _proxy in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
    ENV.pop(_proxy, None)

BIN = Path(sys.executable).parent
MITMDUMP = str(BIN / "mitmdump")
# the replay options that let mitmdump answer every request from its flows, again and again,
# without ever connecting to the recorded host, not even for its certificate; no refreshing
# of dates (virt does not shift time by default either)
MITMDUMP_REPLAY = [
    "--set",
    "server_replay_reuse=true",
    "--set",
    "server_replay_extra=404",
    "--set",
    "connection_strategy=lazy",
    "--set",
    "upstream_cert=false",
    "--set",
    "server_replay_refresh=false",
]


class ServerFailed(Exception):
    """A server that exited, or answered wrong, before or during its load."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """A process on free ports; the clock starts just before the spawn."""

    def __init__(self, name: str, cmd: Sequence[str], port: int, cwd: Path) -> None:
        self.name = name
        self.port = port
        self.log = cwd / f"{name.replace(' ', '-')}-{port}.log"
        with self.log.open("wb") as log:
            self.started = time.perf_counter()
            # its own session: stop() can end the workers it starts along with it
            self.proc = subprocess.Popen(
                list(cmd),
                cwd=cwd,
                env=ENV,
                stdout=log,
                stderr=log,
                start_new_session=True,
            )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ready(self, via_proxy: str = "", port: int = 0, timeout: float = 600) -> float:
        """Seconds from spawn until entry 1 is answered 200 on `port` (the server's own when
        0), polled every 5 ms; through a proxy when `via_proxy` names the origin
        (http://api.bench.local)."""
        while time.perf_counter() - self.started < timeout:
            self.check_alive()
            try:
                status, _ = request(port or self.port, workload.entry(1), via_proxy)
            except OSError:
                time.sleep(0.005)
                continue
            if status != 200:
                raise ServerFailed(f"{self.name}: entry 1 answered {status}; see {self.log}")
            return time.perf_counter() - self.started
        raise ServerFailed(f"{self.name} did not answer within {timeout:g} s; see {self.log}")

    def verify(self, size: int, via_proxy: str = "", port: int = 0) -> None:
        """Asks for a sample of the entries and compares each answer with the recorded bytes:
        a fast wrong answer must not count as speed."""
        for n in sample(size):
            status, body = request(port or self.port, workload.entry(n), via_proxy)
            check_answer(self, n, status, body)

    def verify_fallback(self, size: int) -> None:
        """Asks for a sample of the fallback load (bench/unrecorded.py): each must be a
        fallback answer, 200, holding the values that come from the request."""
        for n in sample(size):
            e = unrecorded.request(size, n)
            status, match, body = ask(self.port, e)
            check_fallback(self, e, status, match, body)

    def check_alive(self) -> None:
        if self.proc.poll() is not None:
            tail = self.log.read_text(errors="replace")[-3000:]
            raise ServerFailed(f"{self.name} exited ({self.proc.returncode}):\n{tail}")

    def pids(self) -> list[int]:
        """The process and all its descendants (workers)."""
        return [self.proc.pid, *_descendants(self.proc.pid)]

    def rss_mib(self) -> float:
        """Resident memory of the process and all its descendants (workers)."""
        return sum(_rss_kib(pid) for pid in self.pids()) / 1024

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        # workers that outlive their parent would hold the port for the next server
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)


def sample(size: int, count: int = 50) -> list[int]:
    """Entries spread over all `size`, half of them multiples of ten: POSTs, which only their
    bodies tell apart."""
    rng = random.Random(size)
    return [rng.randrange(size) // 10 * 10 if k % 2 else rng.randrange(size) for k in range(count)]


def check_answer(server: Server, n: int, status: int, body: bytes) -> None:
    e = workload.entry(n)
    if status != 200 or body != e.answer:
        raise ServerFailed(
            f"{server.name}: entry {n} ({e.method} {e.target}) answered {status} "
            f"{body[:200]!r}, recorded 200 {e.answer[:80]!r}; see {server.log}"
        )


def check_fallback(server: Server, e: workload.Entry, status: int, match: str, body: bytes) -> None:
    why = unrecorded.wrong(e, status, match, body)
    if why:
        raise ServerFailed(
            f"{server.name}: the unrecorded {e.method} {e.target} {e.body[:80]!r} was answered "
            f"{why}: {body[:200]!r}; see {server.log}"
        )


def request(port: int, e: workload.Entry, via_proxy: str = "") -> tuple[int, bytes]:
    """Sends entry `e` to 127.0.0.1:`port`, in absolute form for `via_proxy`'s origin when
    given, and returns the status and body; raises OSError while nothing listens."""
    status, _, body = ask(port, e, via_proxy)
    return status, body


def ask(port: int, e: workload.Entry, via_proxy: str = "") -> tuple[int, str, bytes]:
    """As `request`, with the answer's X-Virt-Match ("" without one) between status and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    target = f"{via_proxy}{e.target}"
    headers = {"Host": via_proxy.split("://", 1)[1]} if via_proxy else {}
    if e.body:
        headers["Content-Type"] = "application/json"
    try:
        conn.request(e.method, target, body=e.body or None, headers=headers)
        response = conn.getresponse()
        return response.status, response.getheader("X-Virt-Match", ""), response.read()
    finally:
        conn.close()


def virt_serve(db: Path, cwd: Path, extra: Sequence[str] = ()) -> tuple[Server, int]:
    """`virt serve` with its default flags on free ports; the proxy door's port is returned
    beside the server (whose port is the direct door's). Its CA goes to cwd/confdir."""
    port, proxy_port = free_port(), free_port()
    cmd = [sys.executable, "-m", "virt", "serve", "--db", str(db.absolute())]
    cmd += ["--port", str(port), "--proxy-port", str(proxy_port)]
    cmd += ["--confdir", str(cwd / "confdir-virt"), *extra]
    return Server("virt serve", cmd, port, cwd), proxy_port


def bare(har: Path, cwd: Path, workers: int = 1) -> Server:
    port = free_port()
    cmd = [sys.executable, "-m", "bench.baseline", str(port), str(har.absolute()), str(workers)]
    return Server("bare app", cmd, port, cwd)


def mitmdump_replay(har: Path, cwd: Path) -> Server:
    """`mitmdump --server-replay` on the HAR file, which mitmproxy reads itself."""
    port = free_port()
    cmd = [MITMDUMP, "-q", "--listen-host", "127.0.0.1", "-p", str(port)]
    cmd += ["--set", f"confdir={cwd / 'confdir-mitmdump'}"]
    cmd += ["--server-replay", str(har.absolute()), *MITMDUMP_REPLAY]
    return Server("mitmdump replay", cmd, port, cwd)


def mitmdump_forward(cwd: Path) -> Server:
    """Plain `mitmdump` as a regular forward proxy."""
    port = free_port()
    cmd = [MITMDUMP, "-q", "--listen-host", "127.0.0.1", "-p", str(port)]
    cmd += ["--set", f"confdir={cwd / 'confdir-mitmdump'}"]
    return Server("mitmdump forward", cmd, port, cwd)


def virt_record(db: Path, cwd: Path) -> Server:
    """`virt record` with its default flags: a regular proxy recording into `db`."""
    port = free_port()
    cmd = [sys.executable, "-m", "virt", "record", "--db", str(db.absolute())]
    cmd += ["--port", str(port), "--confdir", str(cwd / "confdir-virt")]
    return Server("virt record", cmd, port, cwd)


def supports(command: str, flag: str) -> bool:
    """Whether this checkout's `virt COMMAND --help` lists `flag`."""
    done = subprocess.run(
        [sys.executable, "-m", "virt", command, "--help"],
        env=ENV,
        capture_output=True,
        text=True,
        check=False,
    )
    return flag in done.stdout.split()


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _descendants(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                # the command name in parentheses may hold spaces: fields follow the last ")"
                parents[int(entry)] = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    found: list[int] = []
    frontier = [root]
    while frontier:
        pid = frontier.pop()
        children = [c for c, p in parents.items() if p == pid]
        found += children
        frontier += children
    return found
