"""The token rule: exposed beyond loopback, the admin API needs a token; replay stays open.
Without a token, a web page in a browser on this machine cannot reach the admin API."""

from __future__ import annotations

import socket
import subprocess
from pathlib import Path

import httpx

from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok, port_open


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


def test_without_a_token_a_web_page_cannot_reach_the_admin_api(  # type: ignore[no-untyped-def]
    virt, tmp_path: Path
) -> None:
    db = tmp_path / "a.db"
    db.touch()
    proc, port, _ = virt.serve(db, proxy=False)
    try:
        base = f"http://127.0.0.1:{port}"
        # DNS rebinding: the page's own name, now pointing at 127.0.0.1
        rebound = httpx.get(
            f"{base}/__virt/interactions?bodies=true", headers={"Host": "attacker.example"}
        )
        assert rebound.status_code == 403
        assert rebound.json()["detail"].startswith("Host 'attacker.example' is not this machine")
        assert "VIRT_ADMIN_TOKEN" in rebound.json()["detail"]
        # a cross-site form or fetch: simple requests that no preflight stops
        page = {"Origin": "http://attacker.example", "Content-Type": "text/plain"}
        assert httpx.post(f"{base}/__virt/reset", headers=page).status_code == 403
        imported = httpx.post(f"{base}/__virt/import?filename=a.har", headers=page, content=b"{}")
        assert imported.status_code == 403
        fetched = httpx.post(f"{base}/__virt/reset", headers={"Sec-Fetch-Site": "cross-site"})
        assert fetched.status_code == 403
        # without an Origin, text is still no file
        typed = httpx.post(
            f"{base}/__virt/import?filename=a.har",
            headers={"Content-Type": "text/plain"},
            content=b"{}",
        )
        assert typed.status_code == 415
        # this machine's programs, and the docs page on the server's own origin, pass
        assert httpx.get(f"{base}/__virt/interactions").status_code == 200
        own = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
        assert httpx.post(f"{base}/__virt/reset", headers=own).status_code == 200
        local = httpx.get(f"http://localhost:{port}/__virt/stats")
        assert local.status_code == 200
        # replay is not the admin API: it answers whatever the Host
        replay = httpx.get(f"{base}/anything", headers={"Host": "attacker.example"})
        assert replay.status_code == 599
    finally:
        assert proc.stop() == 0, proc.output()
    assert "Traceback" not in proc.output()


def test_an_upload_declared_past_the_limit_is_refused_before_its_body(  # type: ignore[no-untyped-def]
    virt, tmp_path: Path
) -> None:
    db = tmp_path / "a.db"
    db.touch()
    proc, port, _ = virt.serve(db, proxy=False)
    try:
        # 400 MB announced, not one byte of it sent: the answer comes from the headers alone
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(
                b"POST /__virt/import?filename=big.har HTTP/1.1\r\n"
                b"Host: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n"
                b"Content-Length: 400000000\r\n\r\n"
            )
            answer = b""
            while b"virt import" not in answer and (chunk := s.recv(65536)):
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 413 "), answer
        assert b'"an import is at most 32 MiB: raise the limit with --max-body' in answer
        assert health_ok(port)
    finally:
        assert proc.stop() == 0, proc.output()
