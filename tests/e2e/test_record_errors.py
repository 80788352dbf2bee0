"""Upstream failures while recording are logged with a hint, recorded as nothing, and survived."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from tests.helpers import Upstream, free_port, trusting


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT COUNT(*) FROM interactions").fetchone()[0])


def test_unreachable_upstream_is_logged_and_the_recorder_keeps_going(
    virt,
    http_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "unreachable.db"
    proc, port = virt.record(db)
    proxy = f"http://127.0.0.1:{port}"
    dead = httpx.get(f"http://127.0.0.1:{free_port()}/x", proxy=proxy)
    assert dead.status_code == 502
    alive = httpx.get(f"{http_upstream.url}/users/1", proxy=proxy)
    assert alive.status_code == 200
    assert proc.stop() == 0
    log = proc.output()
    assert "upstream error, nothing recorded: GET http://127.0.0.1:" in log
    assert "is the service up" in log
    assert _rows(db) == 1


def test_untrusted_upstream_certificate_says_which_variable_to_set(
    virt,
    https_upstream: Upstream,
    virt_ca,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "untrusted.db"
    # SSL_CERT_FILE names virt's own CA, not the one that signed the upstream's certificate
    proc, port = virt.record(db, env={"SSL_CERT_FILE": str(virt_ca.cert)})
    r = httpx.get(
        f"{https_upstream.url}/users/1",
        proxy=f"http://127.0.0.1:{port}",
        verify=trusting(virt_ca.cert),
    )
    assert r.status_code == 502
    assert proc.stop() == 0
    assert "SSL_CERT_FILE" in proc.output()
    assert _rows(db) == 0


def test_odd_bodies_through_the_reverse_proxy_are_recorded_and_replayed_at_both_doors(
    virt,
    http_upstream: Upstream,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    db = tmp_path / "odd.db"
    proc, port = virt.record(db, "--reverse", http_upstream.url)
    base = f"http://127.0.0.1:{port}"
    bodies = {
        "application/x-www-form-urlencoded": "name=J\xf6rg".encode("latin-1"),
        "application/json": b"[" * 900 + b"]" * 900,
    }
    for ctype, body in bodies.items():
        r = httpx.post(f"{base}/echo", content=body, headers={"content-type": ctype})
        assert r.status_code == 200, r.text
    assert proc.stop() == 0
    assert _rows(db) == 2  # every 200 the client saw is a committed row
    _, direct, proxy_port = virt.serve(db)
    for ctype, body in bodies.items():
        for door in (f"http://127.0.0.1:{direct}", None):
            r = httpx.post(
                f"{door or http_upstream.url}/echo",
                content=body,
                headers={"content-type": ctype},
                proxy=None if door else f"http://127.0.0.1:{proxy_port}",
            )
            assert (r.status_code, r.headers.get("x-virt-match")) == (200, "exact"), r.text
