"""Other ways in: mitmdump with addons/record.py, reverse-proxy recording, passthrough replay."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import REPO, Upstream, clean_env, free_port, port_open, trusting, wait_for


def test_mitmdump_with_the_addon_script_records(
    http_upstream: Upstream, confdir: Path, tmp_path: Path
) -> None:
    db = tmp_path / "mitmdump.db"
    port = free_port()
    mitmdump = Path(sys.executable).parent / "mitmdump"
    proc = subprocess.Popen(
        [
            str(mitmdump),
            "-q",
            "-s",
            str(REPO / "addons" / "record.py"),
            "-p",
            str(port),
            "--set",
            f"virt_db={db}",
            "--set",
            f"confdir={confdir}",
            "--set",
            "virt_session=mitmdump",
        ],
        env=clean_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for(lambda: port_open(port), what="mitmdump")
        r = httpx.get(f"{http_upstream.url}/users/1", proxy=f"http://127.0.0.1:{port}")
        assert r.json() == {"id": 1, "name": "Ada"}
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=20)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT session, method, path, status FROM interactions").fetchall()
    assert rows == [("mitmdump", "GET", "/users/1", 200)], out


def test_reverse_mode_records_for_clients_that_cannot_use_a_proxy(
    virt,
    https_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "reverse.db"
    proc, port = virt.record(db, "--reverse", https_upstream.url)
    r = httpx.get(f"http://127.0.0.1:{port}/users/2")
    assert r.json() == {"id": 2, "name": "Grace"}
    assert proc.stop() == 0, proc.output()
    https_upstream.stop()
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT scheme, host, port, path FROM interactions").fetchone()
    assert row == ("https", "127.0.0.1", https_upstream.port, "/users/2")
    _, serve_port, _ = virt.serve(db)
    replayed = httpx.get(f"http://127.0.0.1:{serve_port}/users/2")
    assert replayed.json() == {"id": 2, "name": "Grace"}
    assert replayed.headers["x-virt-match"] == "exact"


def test_passthrough_forwards_misses_and_records_them(
    virt,
    https_upstream: Upstream,
    confdir: Path,
    upstream_ca_path: Path,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "passthrough.db"
    # trust for the upstream comes from REQUESTS_CA_BUNDLE alone, as a requests user would set it
    trust = {"SSL_CERT_FILE": "", "REQUESTS_CA_BUNDLE": str(upstream_ca_path)}
    proc, port, proxy_port = virt.serve(
        db, "--passthrough", "--route", f"/api={https_upstream.url}", env=trust
    )
    first = httpx.get(f"http://127.0.0.1:{port}/api/users/1")
    assert first.status_code == 200
    assert first.headers["x-virt-match"] == "passthrough"
    with httpx.Client(
        proxy=f"http://127.0.0.1:{proxy_port}", verify=trusting(confdir / "mitmproxy-ca-cert.pem")
    ) as client:
        via_proxy = client.get(f"{https_upstream.url}/logo.png")
    assert via_proxy.headers["x-virt-match"] == "passthrough"
    assert https_upstream.hits == ["GET /users/1", "GET /logo.png"]
    https_upstream.stop()
    again = httpx.get(f"http://127.0.0.1:{port}/api/users/1")
    assert again.headers["x-virt-match"] == "exact"
    assert again.json() == first.json()
    assert proc.stop() == 0, proc.output()
    with sqlite3.connect(db) as conn:
        paths = [p for (p,) in conn.execute("SELECT path FROM interactions ORDER BY id")]
    assert paths == ["/users/1", "/logo.png"]


def test_replay_without_passthrough_never_reaches_a_running_upstream(
    virt,
    https_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "empty.db"
    sqlite3.connect(db).close()  # an empty SQLite file: virt makes it a recording
    _, port, _ = virt.serve(db, "--route", f"/api={https_upstream.url}")
    r = httpx.get(f"http://127.0.0.1:{port}/api/users/1")
    assert r.status_code == 599
    assert https_upstream.hits == []


def test_journal_flag_persists_every_answer_in_the_database(
    virt,
    http_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "journal.db"
    proc, port = virt.record(db)
    httpx.get(f"{http_upstream.url}/users/1", proxy=f"http://127.0.0.1:{port}")
    assert proc.stop() == 0
    served, serve_port, _ = virt.serve(db, "--journal")
    assert httpx.get(f"http://127.0.0.1:{serve_port}/users/1").status_code == 200
    assert httpx.get(f"http://127.0.0.1:{serve_port}/accounts/2").status_code == 599
    assert served.stop() == 0, served.output()
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT door, method, url, match, interaction_id, status FROM journal ORDER BY id"
        ).fetchall()
    origin = http_upstream.url
    assert rows == [
        ("direct", "GET", f"{origin}/users/1", "exact", 1, 200),
        ("direct", "GET", f"{origin}/accounts/2", "miss", None, 599),
    ]
