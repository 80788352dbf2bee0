"""Real parts for tests: an upstream on a thread, virt as a subprocess, free ports, waiting."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn

REPO = Path(__file__).resolve().parent.parent
OPENAPI_DOCS = Path(
    os.environ.get("VIRT_OPENAPI_DOCS", REPO.parent / "shared" / "openapi")
).resolve()
"""Real OpenAPI documents of APIs the corpus also holds (../shared/openapi)."""
VIRT = [sys.executable, "-m", "virt"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(condition: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    """Poll `condition` until it holds; fail with `what` after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    try:
        socket.create_connection((host, port), timeout=0.2).close()
        return True
    except OSError:
        return False


class _ThreadServer(uvicorn.Server):
    def install_signal_handlers(self) -> None:  # uvicorn < 0.29
        pass

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:  # uvicorn >= 0.29
        yield


@dataclass
class Upstream:
    """A real uvicorn server on a thread, bound to 127.0.0.1 on a free port."""

    app: Any
    scheme: str = "http"
    ssl: dict[str, str] = field(default_factory=dict)
    port: int = 0
    hits: list[str] = field(default_factory=list)
    _server: _ThreadServer | None = None
    _thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> Upstream:
        self.port = self.port or free_port()
        hits = self.hits
        inner = self.app

        async def counting(scope: Any, receive: Any, send: Any) -> None:
            if scope["type"] == "http":
                hits.append(f"{scope['method']} {scope['path']}")
            await inner(scope, receive, send)

        config = uvicorn.Config(
            counting,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            **self.ssl,  # type: ignore[arg-type]
        )
        self._server = _ThreadServer(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        wait_for(lambda: self._server is not None and self._server.started, what="upstream")
        return self

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(10)
            self._server = None


@dataclass
class VirtProcess:
    """`virt record` or `virt serve` as a real subprocess; stderr is kept for assertions."""

    args: list[str]
    env: dict[str, str]
    cwd: Path
    proc: subprocess.Popen[bytes] | None = None
    log_path: Path | None = None

    def start(self, ready: Callable[[], bool], timeout: float = 30.0) -> VirtProcess:
        self.log_path = self.cwd / f"virt-{os.getpid()}-{time.monotonic_ns()}.log"
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                VIRT + self.args, env=self.env, cwd=self.cwd, stdout=log, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"virt {' '.join(self.args)} exited early:\n{self.output()}")
            if ready():
                return self
            time.sleep(0.05)
        self.stop()
        raise AssertionError(f"virt {' '.join(self.args)} did not become ready:\n{self.output()}")

    def output(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path else ""

    def stop(self, sig: int = signal.SIGTERM) -> int:
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()


def start_recording(
    db: Path, confdir: Path, cwd: Path, *extra: str, env: dict[str, str] | None = None
) -> tuple[VirtProcess, int]:
    """`virt record` into `db` on a free port (its process and port), once the port listens."""
    port = free_port()
    args = ["record", "--db", str(db), "--port", str(port), "--confdir", str(confdir), *extra]
    proc = VirtProcess(args, clean_env() if env is None else env, cwd)
    return proc.start(lambda: port_open(port)), port


def clean_env(**extra: str) -> dict[str, str]:
    """The process environment without proxy or CA settings, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k.upper() not in PROXY_AND_CA_VARS}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


PROXY_AND_CA_VARS = {
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "VIRT_DB",
    "VIRT_HOST",
    "VIRT_PORT",
    "VIRT_PROXY_PORT",
    "VIRT_CONFDIR",
    "VIRT_PASSTHROUGH",
    "VIRT_ADMIN_TOKEN",
    "VIRT_JOURNAL",
    "VIRT_MODE",
    "VIRT_NO_ADMIN",
}


def health_ok(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/__virt/health", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def trusting(ca_file: Path) -> ssl.SSLContext:
    """An SSL context for httpx that trusts `ca_file` alone."""
    return ssl.create_default_context(cafile=str(ca_file))


FIGURES: dict[str, list[str]] = {}
"""Figures tests report (per-format counts and the like): printed at the end of the run."""


def report_figure(section: str, line: str) -> None:
    FIGURES.setdefault(section, []).append(line)


def shuffled(value: Any, rng: random.Random) -> Any:
    """A JSON value with the members of every object in another order (arrays keep theirs)."""
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled(v, rng) for v in value]
    return value


class Tripwire:
    """A TCP listener where an upstream was, counting every connection made to it."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", port))
        self.sock.listen(16)
        self.connections = 0
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            conn.close()

    def close(self) -> None:
        # shutdown wakes the blocked accept(); close alone would leave the port listening
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


def require_openapi() -> Path:
    """The folder of real OpenAPI documents; a clear failure when it is missing."""
    if not (OPENAPI_DOCS / "openai" / "openapi.yaml").is_file():
        import pytest

        pytest.fail(
            f"the OpenAPI documents are missing: looked for {OPENAPI_DOCS}/openai/openapi.yaml "
            "(lay ../shared/openapi beside the repository, or set VIRT_OPENAPI_DOCS)",
            pytrace=False,
        )
    return OPENAPI_DOCS
