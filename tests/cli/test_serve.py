"""`virt serve` as the container runs it: every setting from VIRT_* variables, the admin API
switched off on all interfaces (VIRT_NO_ADMIN), and VIRT_MODE=record|passthrough|replay."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.helpers import (
    VIRT,
    Upstream,
    VirtProcess,
    clean_env,
    free_port,
    health_ok,
    port_open,
)
from virt.store import Store


def _env(db: Path, confdir: Path, **extra: str) -> dict[str, str]:
    port, proxy_port = free_port(), free_port()
    return clean_env(
        VIRT_DB=str(db),
        VIRT_CONFDIR=str(confdir),
        VIRT_PORT=str(port),
        VIRT_PROXY_PORT=str(proxy_port),
        **extra,
    )


def test_all_interfaces_without_a_token_refuses_in_one_line_naming_no_admin(
    tmp_path: Path, confdir: Path
) -> None:
    db = tmp_path / "a.db"
    db.touch()
    done = subprocess.run(
        [*VIRT, "serve"],
        env=_env(db, confdir, VIRT_HOST="0.0.0.0"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    first, *rest = done.stderr.splitlines()
    assert first.startswith("virt: --host 0.0.0.0 exposes the admin API")
    assert "VIRT_NO_ADMIN=1" in rest[0] and "VIRT_ADMIN_TOKEN" in rest[0]
    assert "Traceback" not in done.stderr


def test_no_admin_serves_on_all_interfaces_with_health_and_nothing_else(
    tmp_path: Path, confdir: Path
) -> None:
    db = tmp_path / "a.db"
    db.touch()
    env = _env(db, confdir, VIRT_HOST="0.0.0.0", VIRT_NO_ADMIN="1")
    port = int(env["VIRT_PORT"])
    proc = VirtProcess(["serve"], env, tmp_path).start(lambda: health_ok(port))
    try:
        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/__virt/ready").status_code == 200
        for path in (
            "/__virt/interactions",
            "/__virt/journal",
            "/__virt/docs",
            "/__virt/openapi.json",
            "/__virt/ui",
            "/__virt/ui/recordings",
        ):
            assert httpx.get(base + path).status_code == 404, path
        assert httpx.delete(f"{base}/__virt/interactions").status_code in (404, 405)
        assert httpx.get(f"{base}/users/1").headers["x-virt-match"].startswith("miss")
    finally:
        proc.stop()


def test_mode_record_records_through_the_proxy_port_then_mode_replay_answers(
    tmp_path: Path, confdir: Path, http_upstream: Upstream
) -> None:
    db = tmp_path / "a.db"
    env = _env(db, confdir, VIRT_MODE="record")
    proxy_port = int(env["VIRT_PROXY_PORT"])
    recording = VirtProcess(["serve"], env, tmp_path).start(lambda: port_open(proxy_port))
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}") as client:
            recorded = client.get(f"{http_upstream.url}/users/1")
        assert recorded.status_code == 200
        assert not port_open(int(env["VIRT_PORT"]))  # recording opens no direct door
    finally:
        assert recording.stop() == 0
    assert _count(db) == 1

    http_upstream.stop()
    env = _env(db, confdir)  # VIRT_MODE unset: replay
    replaying = VirtProcess(["serve"], env, tmp_path).start(
        lambda: health_ok(int(env["VIRT_PORT"]))
    )
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{env['VIRT_PROXY_PORT']}") as client:
            replayed = client.get(f"{http_upstream.url}/users/1")
        assert replayed.status_code == 200
        assert replayed.content == recorded.content
    finally:
        replaying.stop()


def test_mode_passthrough_forwards_what_was_not_recorded_and_records_it(
    tmp_path: Path, confdir: Path, http_upstream: Upstream
) -> None:
    db = tmp_path / "a.db"
    db.touch()
    env = _env(db, confdir, VIRT_MODE="passthrough")
    proxy_port = int(env["VIRT_PROXY_PORT"])
    proc = VirtProcess(["serve"], env, tmp_path).start(lambda: health_ok(int(env["VIRT_PORT"])))
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}") as client:
            answer = client.get(f"{http_upstream.url}/users/2")
        assert answer.status_code == 200
        assert http_upstream.hits == ["GET /users/2"]
    finally:
        proc.stop()
    assert _count(db) == 1


def test_mode_takes_only_the_three_modes(tmp_path: Path) -> None:
    done = subprocess.run(
        [*VIRT, "serve", "--db", str(tmp_path / "a.db")],
        env=clean_env(VIRT_MODE="capture"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "'capture' is not one of 'replay', 'passthrough', 'record'" in done.stderr


def _count(db: Path) -> int:
    store = Store.open(db, readonly=True)
    try:
        return store.count()
    finally:
        store.close()
