"""Shared fixtures: a clean environment, the bundled upstream over HTTP and HTTPS, virt's CA."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from demo.upstream import create_app
from tests.helpers import (
    PROXY_AND_CA_VARS,
    Upstream,
    VirtProcess,
    clean_env,
    free_port,
    health_ok,
    port_open,
    start_recording,
)
from virt.mitm.master import CA, ensure_ca


@pytest.fixture(autouse=True)
def _clean_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    """No test inherits a proxy or a CA bundle from the shell that runs pytest."""
    for name in list(os.environ):
        if name.upper() in PROXY_AND_CA_VARS:
            monkeypatch.delenv(name)


@pytest.fixture(scope="session")
def upstream_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def upstream_ca_path(upstream_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("upstream-ca") / "ca.pem"
    upstream_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def https_upstream(
    upstream_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Upstream]:
    """The bundled upstream over HTTPS, with a certificate from `upstream_ca`."""
    d = tmp_path_factory.mktemp("upstream-tls")
    cert = upstream_ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    up = Upstream(
        create_app(),
        scheme="https",
        ssl={"ssl_certfile": str(d / "cert.pem"), "ssl_keyfile": str(d / "key.pem")},
    ).start()
    yield up
    up.stop()


@pytest.fixture
def http_upstream() -> Iterator[Upstream]:
    up = Upstream(create_app()).start()
    yield up
    up.stop()


@pytest.fixture(scope="session")
def confdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """virt's CA for the whole run: RSA key generation is slow enough to do once."""
    path = tmp_path_factory.mktemp("confdir")
    ensure_ca(path)
    return path


@pytest.fixture(scope="session")
def virt_ca(confdir: Path) -> CA:
    return ensure_ca(confdir)


@dataclass
class Virt:
    """Starts virt subprocesses in a test's tmp folder and stops them after the test."""

    tmp_path: Path
    confdir: Path
    upstream_ca_path: Path
    procs: list[VirtProcess]

    def record(
        self, db: Path, *extra: str, env: dict[str, str] | None = None
    ) -> tuple[VirtProcess, int]:
        environment = clean_env(**{"SSL_CERT_FILE": str(self.upstream_ca_path), **(env or {})})
        proc, port = start_recording(db, self.confdir, self.tmp_path, *extra, env=environment)
        self.procs.append(proc)
        return proc, port

    def serve(
        self, db: Path, *extra: str, env: dict[str, str] | None = None, proxy: bool = True
    ) -> tuple[VirtProcess, int, int]:
        """`virt serve` on `db`: its process, direct port and proxy port (0 with proxy=False,
        which passes --no-proxy)."""
        port, proxy_port = free_port(), free_port() if proxy else 0
        door = ["--proxy-port", str(proxy_port)] if proxy else ["--no-proxy"]
        args = ["serve", "--db", str(db), "--port", str(port), *door]
        args += ["--confdir", str(self.confdir), *extra]
        environment = clean_env(**{"SSL_CERT_FILE": str(self.upstream_ca_path), **(env or {})})
        proc = VirtProcess(args, environment, self.tmp_path).start(
            lambda: health_ok(port) and (not proxy or port_open(proxy_port))
        )
        self.procs.append(proc)
        return proc, port, proxy_port


@pytest.fixture
def virt(tmp_path: Path, confdir: Path, upstream_ca_path: Path) -> Iterator[Virt]:
    v = Virt(tmp_path, confdir, upstream_ca_path, [])
    yield v
    for p in v.procs:
        if p.proc is not None and p.proc.poll() is None:
            p.stop()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    from tests.helpers import FIGURES

    for section, lines in FIGURES.items():
        terminalreporter.section(section)
        for line in lines:
            terminalreporter.write_line(line)
