"""The token rule: exposed beyond loopback, the admin API needs a token; replay stays open."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.helpers import VIRT, VirtProcess, clean_env, free_port, port_open


def test_serving_on_all_interfaces_without_a_token_refuses_to_start(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    db.touch()
    done = subprocess.run(
        [
            *VIRT,
            "serve",
            "--db",
            str(db),
            "--host",
            "0.0.0.0",
            "--port",
            str(free_port()),
            "--no-proxy",
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("virt: --host 0.0.0.0 exposes the admin API")
    assert "VIRT_ADMIN_TOKEN" in done.stderr
    assert "Traceback" not in done.stderr


def test_with_a_token_admin_requests_without_it_get_401(tmp_path: Path, confdir: Path) -> None:
    db = tmp_path / "a.db"
    db.touch()
    port = free_port()
    proc = VirtProcess(
        [
            "serve",
            "--db",
            str(db),
            "--host",
            "0.0.0.0",
            "--port",
            str(port),
            "--no-proxy",
            "--confdir",
            str(confdir),
        ],
        clean_env(VIRT_ADMIN_TOKEN="t0ken"),
        tmp_path,
    ).start(lambda: port_open(port))
    try:
        base = f"http://127.0.0.1:{port}/__virt"
        assert httpx.get(f"{base}/interactions").status_code == 401
        assert httpx.get(f"{base}/stats", headers={"Authorization": "Bearer x"}).status_code == 401
        ok = httpx.get(f"{base}/interactions", headers={"Authorization": "Bearer t0ken"})
        assert ok.status_code == 200
        assert httpx.get(f"{base}/health").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{port}/anything").status_code == 599  # replay open
    finally:
        assert proc.stop() == 0, proc.output()
