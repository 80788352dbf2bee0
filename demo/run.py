"""The main job in miniature: record a real HTTPS upstream through virt, switch it off, replay it.

python -m demo.run      (or: make demo)

The table of recorded against replayed calls goes to stdout, progress to stderr. Exit status 0
only if every recorded call replayed with the same status and bytes, and an unrecorded call got
the documented miss (599, X-Virt-Match: miss) for a route nothing recorded, while an unrecorded
id on a recorded route got an answer made from the recordings, saying so (X-Virt-Match:
fallback) and carrying the id asked for. The recording stays in recordings/demo.db.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import httpx
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parent.parent
DB = REPO / "recordings" / "demo.db"
JSON = {"Content-Type": "application/json"}
# JSON bodies are fixed bytes: replay matches bodies exactly, so the client must say the same thing
CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/users", {}),
    ("GET", "/users/1", {}),
    ("POST", "/users", {"content": b'{"name":"Edsger"}', "headers": JSON}),
    ("PUT", "/users/1", {"content": b'{"name":"Ada L."}', "headers": JSON}),
    ("DELETE", "/users/2", {}),
    ("POST", "/login", {"data": {"username": "ada", "password": "hunter2"}}),
    ("GET", "/logo.png", {}),
    ("GET", "/report", {"headers": {"Accept-Encoding": "gzip"}}),
    ("GET", "/export", {}),
    ("GET", "/events", {"headers": {"Accept": "text/event-stream"}}),
    ("POST", "/jobs", {}),
    *[("GET", "/jobs/job-1", {})] * 3,  # pending, pending, done
]
DIRECT = {("GET", "/users/1"), ("POST", "/users"), ("GET", "/logo.png"), ("GET", "/report")}
"""Calls replayed a second time through the direct door (no proxy, plain base URL)."""
FALLBACK = ("GET", "/users/99")
"""Never recorded, on a recorded route: answered from GET /users/1 with id 99 put in."""
MISS = ("GET", "/orders/1")
"""Never recorded, on a route nothing recorded: the 599 miss."""
# the children must not inherit a proxy or a CA bundle from the shell running the demo
SCRUB = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "SSL_CERT_FILE", "SSL_CERT_DIR"}

err = Console(stderr=True, soft_wrap=True)


class Failed(Exception):
    """A step of the demo failed: args are (message, the subprocess log that explains it)."""


@dataclass
class Seen:
    """One response as the client saw it: status, raw (still encoded) body, X-Virt-Match."""

    status: int
    raw: bytes
    match: str


@dataclass
class Row:
    request: str
    door: str
    recorded: Seen
    replayed: Seen

    @property
    def identical(self) -> bool:
        rec, rep = self.recorded, self.replayed
        return rec.status == rep.status and rec.raw == rep.raw


@dataclass
class Child:
    name: str
    proc: subprocess.Popen[bytes]
    log: Path

    def fail(self, message: str) -> NoReturn:
        raise Failed(f"{self.name}: {message}", self.log)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def accepts(port: int, ca: Path | None = None) -> bool:
    """True once `port` takes a connection and, given `ca`, completes a TLS handshake it trusts."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            if ca is not None:  # ca.pem may not be written yet: that is an OSError too
                tls = ssl.create_default_context(cafile=str(ca))
                tls.wrap_socket(sock, server_hostname="127.0.0.1").close()
        return True
    except OSError:
        return False


def health_ok(port: int) -> bool:
    try:
        r = httpx.get(f"http://127.0.0.1:{port}/__virt/health", timeout=0.5, trust_env=False)
        return r.status_code == 200
    except httpx.HTTPError:
        return False


def wait_until(child: Child, ready: Callable[[], bool], what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if child.proc.poll() is not None:
            child.fail(f"exited with status {child.proc.returncode} before {what}")
        if time.monotonic() > deadline:
            child.fail(f"no {what} after {timeout:.0f}s")
        time.sleep(0.05)


def stop(child: Child, sig: signal.Signals = signal.SIGTERM) -> int:
    if child.proc.poll() is None:
        child.proc.send_signal(sig)
        try:
            child.proc.wait(10)
        except subprocess.TimeoutExpired:
            child.proc.kill()
            child.proc.wait()
    return child.proc.returncode


def call(client: httpx.Client, base: str, method: str, path: str, kw: dict[str, Any]) -> Seen:
    with client.stream(method, base + path, **kw) as r:
        return Seen(r.status_code, b"".join(r.iter_raw()), r.headers.get("x-virt-match", ""))


def job_state(raw: bytes) -> str:
    try:
        return str(json.loads(raw)["state"])
    except (ValueError, KeyError, TypeError):
        return "?"


class Demo:
    """The demo's scratch folder and the subprocesses it started, so they can all be stopped."""

    def __init__(self, tmp: Path) -> None:
        self.tmp = tmp
        self.children: list[Child] = []
        # a fresh confdir for virt's CA: ~/.mitmproxy stays untouched
        self.common = ["--db", str(DB), "--confdir", str(tmp / "confdir")]

    def spawn(self, name: str, args: list[str], **env: str) -> Child:
        clean = {k: v for k, v in os.environ.items() if k.upper() not in SCRUB and k[:5] != "VIRT_"}
        log = self.tmp / f"{name}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [sys.executable, "-m", *args],
                cwd=REPO,
                env=clean | env,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        self.children.append(child := Child(name, proc, log))
        return child

    def proxied(self, port: int) -> httpx.Client:
        """A client that goes through virt's proxy and trusts virt's CA alone, as services do."""
        ca = self.tmp / "confdir" / "mitmproxy-ca-cert.pem"
        verify = ssl.create_default_context(cafile=str(ca))
        return httpx.Client(proxy=f"http://127.0.0.1:{port}", verify=verify, trust_env=False)

    def record(self) -> tuple[str, list[Seen]]:
        """Make every call through `virt record`, then stop both: (origin, responses)."""
        tls, up_port, rec_port = self.tmp / "tls", free_port(), free_port()
        origin = f"https://127.0.0.1:{up_port}"
        err.print(f"starting upstream on {origin}")
        upstream_args = ["demo.upstream", "--port", str(up_port), "--tls-dir", str(tls)]
        upstream = self.spawn("upstream", upstream_args)
        wait_until(upstream, lambda: accepts(up_port, tls / "ca.pem"), "TLS handshake")
        err.print(f"recording through the proxy on http://127.0.0.1:{rec_port} into {DB}")
        # SSL_CERT_FILE makes the recorder trust the upstream's throwaway CA
        args = ["virt", "record", *self.common, "--port", str(rec_port)]
        recorder = self.spawn("recorder", args, SSL_CERT_FILE=str(tls / "ca.pem"))
        wait_until(recorder, lambda: accepts(rec_port), "proxy port")
        recorded = []
        with self.proxied(rec_port) as client:
            for method, path, kw in CALLS:
                try:
                    seen = call(client, origin, method, path, kw)
                except httpx.HTTPError as e:
                    recorder.fail(f"{method} {path} through the recording proxy failed: {e!r}")
                if seen.status >= 500:  # 502 is the proxy's (upstream unreachable or untrusted)
                    blame = recorder if seen.status == 502 else upstream
                    blame.fail(f"{method} {path} was answered {seen.status} while recording")
                recorded.append(seen)
        err.print(f"recorded {len(recorded)} calls; stopping the recorder and the upstream")
        if (rc := stop(recorder, signal.SIGINT)) != 0:
            recorder.fail(f"exited with status {rc} on Ctrl-C")
        stop(upstream)
        if accepts(up_port):
            upstream.fail(f"still accepting connections on {origin} after it was stopped")
        err.print(f"upstream stopped: {origin} now refuses connections")
        return origin, recorded

    def replay(self, origin: str, recorded: list[Seen]) -> tuple[list[Row], Seen, Seen]:
        """Make the same calls to `virt serve` through the proxy door, DIRECT ones directly too."""
        port, proxy_port = free_port(), free_port()
        direct = f"http://127.0.0.1:{port}"
        err.print(f"serving {DB.name}: direct door {direct}, proxy door :{proxy_port}")
        args = ["virt", "serve", *self.common, "--port", str(port), "--proxy-port", str(proxy_port)]
        server = self.spawn("server", args)
        wait_until(server, lambda: health_ok(port) and accepts(proxy_port), "health answer")
        rows: list[Row] = []
        try:
            with self.proxied(proxy_port) as proxy, httpx.Client(trust_env=False) as plain:
                for (method, path, kw), rec in zip(CALLS, recorded, strict=True):
                    request = f"{method} {path}"
                    rows.append(Row(request, "proxy", rec, call(proxy, origin, method, path, kw)))
                    if (method, path) in DIRECT:
                        rows.append(
                            Row(request, "direct", rec, call(plain, direct, method, path, kw))
                        )
                fallback = call(proxy, origin, *FALLBACK, {})
                miss = call(proxy, origin, *MISS, {})
        except httpx.HTTPError as e:
            server.fail(f"a replayed call failed: {e!r}")
        polls = [r.replayed.raw for r in rows if r.door == "proxy" and "/jobs/" in r.request]
        err.print(f"the polled job replayed as: {', '.join(job_state(raw) for raw in polls)}")
        return rows, fallback, miss


def report(rows: list[Row], fallback: Seen, miss: Seen) -> bool:
    """Print the table and the summary on stdout; True if the demo succeeded."""
    table = Table(title="virt demo: recorded vs replayed, upstream switched off")
    table.add_column("request", no_wrap=True)
    for column in ("door", "recorded status", "replayed status"):
        table.add_column(column)
    table.add_column("match", no_wrap=True)
    table.add_column("same body")
    for r in rows:
        same = "[green]yes[/]" if r.recorded.raw == r.replayed.raw else "[red]no[/]"
        statuses = str(r.recorded.status), str(r.replayed.status)
        table.add_row(r.request, r.door, *statuses, r.replayed.match, same)
    table.add_row(" ".join(FALLBACK), "proxy", "-", str(fallback.status), fallback.match, "-")
    table.add_row(" ".join(MISS), "proxy", "-", str(miss.status), miss.match, "-")
    out = Console()
    out.print(table)
    identical = sum(r.identical for r in rows)
    made = f"{' '.join(FALLBACK)} (never recorded) got {fallback.status} {fallback.match}"
    verdict = f"{' '.join(MISS)} (no such route recorded) got {miss.status} {miss.match}"
    summary = f"{identical} of {len(rows)} replayed identically; {made}; {verdict}; database: {DB}"
    out.print(summary, soft_wrap=True)
    return (
        identical == len(rows)
        and (miss.status, miss.match) == (599, "miss")
        and (fallback.status, fallback.match) == (200, "fallback;source=template")
        and json.loads(fallback.raw).get("id") == 99
    )


def run(demo: Demo) -> bool:
    DB.parent.mkdir(exist_ok=True)
    for old in (DB, DB.with_name(DB.name + "-wal"), DB.with_name(DB.name + "-shm")):
        old.unlink(missing_ok=True)
    origin, recorded = demo.record()
    return report(*demo.replay(origin, recorded))


def main() -> int:
    # SIGTERM unwinds like Ctrl-C, through the finally that stops the children
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    demo = Demo(Path(tempfile.mkdtemp(prefix="virt-demo-")))
    try:
        ok = run(demo)
        if not ok:
            err.print("[red]some calls did not replay identically[/]")
        return 0 if ok else 1
    except Failed as e:
        message, log = e.args
        err.print(f"[red]demo failed:[/] {message}")
        if log.exists():
            err.rule(f"last lines of {log.name}")
            err.print("\n".join(log.read_text(errors="replace").splitlines()[-30:]), markup=False)
        return 1
    except KeyboardInterrupt:
        err.print("interrupted")
        return 130
    finally:
        for child in reversed(demo.children):
            stop(child)
        shutil.rmtree(demo.tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
