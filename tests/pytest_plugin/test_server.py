"""The virt process the plugin runs: what it shows of itself, and starting it on taken ports."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import clean_env
from virt.pytest_plugin import server as server_module
from virt.pytest_plugin.server import Pool, VirtServer
from virt.pytest_plugin.settings import Mode, RunSettings
from virt.store import Store


def test_the_admin_token_never_shows_in_the_repr(tmp_path: Path) -> None:
    settings = RunSettings(Mode.REPLAY, tmp_path / "api.db", False, tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    server = VirtServer(settings, proc, tmp_path / "log", 8080, 8000, "s3cret-admin-token")
    assert "s3cret" not in repr(server)
    assert server.proxy == "http://127.0.0.1:8080" and server.url == "http://127.0.0.1:8000"


def test_a_port_taken_before_virt_binds_it_is_retried_on_fresh_ports(
    tmp_path: Path, confdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "api.db"
    Store.open(db).close()
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    ports = iter([taken.getsockname()[1]])
    fresh = server_module._free_port
    monkeypatch.setattr(server_module, "_free_port", lambda: next(ports, None) or fresh())
    pool = Pool(clean_env())
    try:
        server = pool.get(RunSettings(Mode.REPLAY, db, False, confdir))
        assert server.alive() and taken.getsockname()[1] not in (server.port, server.proxy_port)
    finally:
        pool.close()
        taken.close()
