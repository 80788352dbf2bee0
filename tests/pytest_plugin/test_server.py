"""The virt process the plugin runs: what it shows of itself."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from virt.pytest_plugin.server import VirtServer
from virt.pytest_plugin.settings import Mode, RunSettings


def test_the_admin_token_never_shows_in_the_repr(tmp_path: Path) -> None:
    settings = RunSettings(Mode.REPLAY, tmp_path / "api.db", False, tmp_path)
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    server = VirtServer(settings, proc, tmp_path / "log", 8080, 8000, "s3cret-admin-token")
    assert "s3cret" not in repr(server)
    assert server.proxy == "http://127.0.0.1:8080" and server.url == "http://127.0.0.1:8000"
