"""`virt serve` or `virt record` as a subprocess of the test run, one per pytest-xdist worker."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from virt.errors import ConfigError, VirtError
from virt.pytest_plugin.rewrite import run_id, set_aside
from virt.pytest_plugin.settings import Mode, RunSettings

if TYPE_CHECKING:
    from virt.mitm.master import CA

START_TIMEOUT = 60.0
"""Seconds a virt process gets to answer its health check: a cold start on a busy CI machine
imports mitmproxy, FastAPI and uvicorn."""
PORT_ATTEMPTS = 3
"""Starts on fresh ports before a port taken under virt is reported."""
KEPT = 3
"""virt processes a worker keeps running: tests of one module share one, and modules run in
order, so a few cover going back and forth without a process per database."""
_SET_BY_PLUGIN = (
    "VIRT_DB",
    "VIRT_HOST",
    "VIRT_PORT",
    "VIRT_PROXY_PORT",
    "VIRT_PASSTHROUGH",
    "VIRT_NO_FALLBACK",
    "VIRT_CONFDIR",
)
"""Variables that would change what the plugin asks for on the command line."""


def worker() -> str:
    """This pytest-xdist worker's id (gw0, gw1, ...), or "main" without xdist."""
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


@contextlib.contextmanager
def lock(name: str) -> Iterator[None]:
    """Hold a lock named `name` across processes of this machine (pytest-xdist workers).

    The lock file lives in the temporary folder, not beside the recordings, so nothing to commit
    or clean appears there.
    """
    from filelock import FileLock

    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    with FileLock(Path(tempfile.gettempdir()) / f"virt-pytest-{digest}.lock"):
        yield


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _port_open(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


@dataclass
class VirtServer:
    """One virt process: its doors, its log, and the admin calls the plugin makes."""

    settings: RunSettings
    proc: subprocess.Popen[bytes]
    log: Path
    proxy_port: int
    port: int | None
    """The direct door and admin API; None for `virt record`, which has neither."""
    token: str | None = field(repr=False)
    """The admin token virt was started with (VIRT_ADMIN_TOKEN): never shown."""
    scratch: Path | None = None
    """The throw-away database folder of passthrough mode."""

    @property
    def proxy(self) -> str:
        return f"http://127.0.0.1:{self.proxy_port}"

    @property
    def url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}" if self.port else None

    def output(self) -> str:
        """The end of the process's log, for error messages."""
        try:
            text = self.log.read_text(errors="replace")
        except OSError:
            return ""
        return text[-4000:]

    def admin(self, method: str, path: str, **params: Any) -> Any:
        """Call the admin API; a VirtError naming the call when virt does not answer it."""
        import httpx  # late: the plugin loads in every pytest run, most of which never use it

        if self.url is None:
            raise ConfigError(f"{self.settings.mode} mode has no admin API ({path})")
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        try:
            reply = httpx.request(
                method,
                f"{self.url}/__virt/{path}",
                params=params,
                headers=headers,
                timeout=30,
                trust_env=False,
            )
            reply.raise_for_status()
        except httpx.HTTPError as e:
            raise VirtError(
                f"virt at {self.url} did not answer {method} /__virt/{path}: {e}",
                hint=f"its log says:\n{self.output()}" if self.output() else "",
            ) from e
        return reply.json()

    def reset(self) -> None:
        if self.port:
            self.admin("POST", "reset")

    def journal(self, after: int = 0) -> list[dict[str, Any]]:
        """The entries answered after `after` (a journal seq), oldest first."""
        if not self.port:
            return []
        entries = self.admin("GET", "journal", limit=1000)["entries"]
        return sorted((e for e in entries if e["seq"] > after), key=lambda e: e["seq"])

    def misses_served(self) -> int:
        """Misses answered since virt started (GET /__virt/stats), kept or not in the journal."""
        if not self.port:
            return 0
        return int(self.admin("GET", "stats")["served"].get("miss", 0))

    def interaction(self, id: int) -> dict[str, Any] | None:
        """A recording by id, or None when it is gone (deleted through the admin API)."""
        try:
            found: dict[str, Any] = self.admin("GET", f"interactions/{id}")
        except VirtError:
            return None
        return found

    def routes(self, host: str) -> list[str]:
        """The recorded routes of `host`, most recorded first: "GET /users/1"."""
        stats = self.admin("GET", "stats")
        return [f"{r['method']} {r['path']}" for r in stats["routes"] if r["host"] == host]

    def last_seq(self) -> int:
        if not self.port:
            return 0
        entries = self.admin("GET", "journal", limit=1)["entries"]
        return int(entries[0]["seq"]) if entries else 0

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.scratch is not None:
            shutil.rmtree(self.scratch, ignore_errors=True)


class PortTaken(VirtError):
    """virt could not listen on a port chosen for it: another process took it meanwhile."""


def start(settings: RunSettings, environ: dict[str, str], logs: Path) -> VirtServer:
    """Start virt for `settings` on free ports of 127.0.0.1 and wait until it answers.

    `environ` is the environment pytest started with (before any test changed it): the
    upstream trust virt record needs (SSL_CERT_FILE of a private upstream CA) comes from there.
    """
    env = {k: v for k, v in environ.items() if k.upper() not in _SET_BY_PLUGIN}
    token = env.get("VIRT_ADMIN_TOKEN") or None
    scratch = None
    db = settings.db
    if settings.mode is Mode.PASSTHROUGH:
        scratch = Path(tempfile.mkdtemp(prefix="virt-passthrough-"))
        db = scratch / "passthrough.db"
    elif settings.mode is Mode.REPLAY and not db.is_file():
        raise ConfigError(
            f"no recordings at {db}",
            hint="record them first: pytest --virt-mode=record (or once, which records only "
            "what is missing)",
        )
    db.parent.mkdir(parents=True, exist_ok=True)
    proxy_port = _free_port()
    common = ["--db", str(db), "--confdir", str(settings.confdir)]
    if settings.mode in (Mode.RECORD, Mode.PASSTHROUGH):
        port = None
        args = ["record", *common, "--port", str(proxy_port), "--session", f"pytest-{worker()}"]
    else:
        port = _free_port()
        args = ["serve", *common, "--port", str(port), "--proxy-port", str(proxy_port)]
        args += ["--passthrough"] if settings.mode is Mode.ONCE else []
        args += ["--no-fallback"] if settings.strict else []
        args += list(settings.args)
    log = logs / f"virt-{worker()}-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "virt", *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = VirtServer(settings, proc, log, proxy_port, port, token, scratch)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if not server.alive():
            server.stop()
            taken = "already in use" in server.output()
            raise (PortTaken if taken else VirtError)(
                f"virt {args[0]} for {settings.db} exited before answering "
                f"(status {proc.returncode})",
                hint=f"its log ({log}) says:\n{server.output()}",
            )
        if _ready(server):
            return server
        time.sleep(0.05)
    server.stop()
    raise VirtError(
        f"virt {args[0]} for {settings.db} did not answer within {START_TIMEOUT:.0f}s",
        hint=f"its log ({log}) says:\n{server.output()}",
    )


def _ready(server: VirtServer) -> bool:
    if not _port_open(server.proxy_port):
        return False
    if server.port is None:
        return True
    import httpx

    with contextlib.suppress(httpx.HTTPError):
        reply = httpx.get(f"{server.url}/__virt/health", timeout=1, trust_env=False)
        return reply.status_code == 200
    return False


class Pool:
    """The virt processes of this worker, by settings; the least recently used stops first."""

    def __init__(self, environ: dict[str, str]) -> None:
        self._environ = environ
        self._run = run_id()
        self._servers: OrderedDict[tuple[Any, ...], VirtServer] = OrderedDict()
        self._logs: Path | None = None
        self._cas: dict[Path, CA] = {}

    def ca(self, confdir: Path) -> CA:
        """virt's CA in `confdir`, created once for every worker: two workers creating it at
        once would each trust a key the other overwrote."""
        if confdir not in self._cas:
            from virt.mitm.master import ensure_ca  # late: loads mitmproxy's certificate code

            with lock(f"ca-{confdir}"):
                self._cas[confdir] = ensure_ca(confdir)
        return self._cas[confdir]

    def get(self, settings: RunSettings) -> VirtServer:
        """The running process for `settings`, started (under a lock per database, so workers
        never create one database or its key at once) when there is none."""
        server = self._servers.get(settings.key)
        if server is not None and server.alive():
            self._servers.move_to_end(settings.key)
            return server
        if server is not None:
            # it died: say so once with its log, rather than answer every later test with errors
            del self._servers[settings.key]
            raise VirtError(
                f"virt for {settings.db} stopped during the run (status {server.proc.returncode})",
                hint=f"its log ({server.log}) says:\n{server.output()}",
            )
        while len(self._servers) >= KEPT:
            _, oldest = self._servers.popitem(last=False)
            oldest.stop()
        if self._logs is None:
            self._logs = Path(tempfile.mkdtemp(prefix=f"virt-pytest-{worker()}-"))
        with lock(f"db-{settings.db}"):
            if settings.mode is Mode.RECORD:
                set_aside(settings.db, self._run)
            server = self._start(settings, self._logs)
        self._servers[settings.key] = server
        return server

    def _start(self, settings: RunSettings, logs: Path) -> VirtServer:
        """Start virt, again on other ports when one it was given was taken meanwhile (a free
        port is only free until someone else binds it)."""
        for attempt in range(PORT_ATTEMPTS):
            try:
                return start(settings, self._environ, logs)
            except PortTaken:
                if attempt == PORT_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def close(self) -> None:
        while self._servers:
            _, server = self._servers.popitem()
            server.stop()
        if self._logs is not None:
            shutil.rmtree(self._logs, ignore_errors=True)
