"""The whole shared corpus through the real CLI: `virt import`, then `virt serve` replays it.

Prints, per format: files, interactions imported, entries skipped, files failed, and how many
imported requests got their own recorded status and body back from a fresh `virt serve`.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import sqlite3
import subprocess
from pathlib import Path

import pytest

from tests.formats.corpus import FOLDERS, MALFORMED, require_corpus
from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok, report_figure
from virt import encoding
from virt.model import header

FORMATS = FOLDERS
NO_BODY = frozenset({204, 304})
JWT = re.compile(rb"eyJ[A-Za-z0-9_-]*\.eyJ[A-Za-z0-9_-]*\.(?:[A-Za-z0-9_-]+|<secret:[0-9a-f]{8}>)")
"""A JWT, whole or as stored (claims kept, signature redacted): minted afresh at replay."""


def tokens_as_claims(body: bytes) -> bytes:
    """`body` with each JWT reduced to its claims: replay signs recorded JWTs anew, with the
    same claims (time claims moved), so the signature and times are not what is compared."""

    def claims(m: re.Match[bytes]) -> bytes:
        payload = m.group(0).split(b".")[1]
        data = json.loads(base64.urlsafe_b64decode(payload + b"=" * (-len(payload) % 4)))
        for name in ("iat", "nbf", "exp", "auth_time"):
            data.pop(name, None)
        return b"<jwt " + json.dumps(data, sort_keys=True).encode() + b">"

    return JWT.sub(claims, body)


def _send(
    port: int, method: str, host: str, port_: int, target: str, body: bytes
) -> tuple[int, bytes, list[tuple[str, str]]]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", f"{host}:{port_}" if ":" not in host else f"[{host}]:{port_}")
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, resp.read(), resp.getheaders()
    finally:
        conn.close()


@pytest.mark.parametrize("fmt", FORMATS)
def test_corpus_imports_and_replays_itself(fmt: str, tmp_path: Path, confdir: Path) -> None:
    corpus = require_corpus()
    db = tmp_path / f"{fmt}.db"
    done = subprocess.run(
        [*VIRT, "import", "--db", str(db), "--json", str(corpus / fmt)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr
    report = json.loads(done.stdout)
    malformed = {str(corpus / m) for m in MALFORMED if m.startswith(fmt + "/")}
    failed = {f["path"] for f in report["failed"]}
    unclaimed = {s["path"] for s in report["skipped"] if s["why"].startswith("not a recording")}
    # a malformed file either fails with the entry that broke, or (when nothing in it looks
    # like any format) is reported as not a recording; it never stops the batch
    assert failed <= malformed, report["failed"]
    assert malformed <= failed | unclaimed
    assert done.returncode == (1 if failed else 0), done.stderr
    for path in failed:
        assert f"virt: cannot import {path}" in done.stderr
    assert report["imported"] > 0
    counts = (
        f"{fmt:16} files {report['files']:>5}  imported {report['imported']:>5}  "
        f"skipped {len(report['skipped']):>4}  failed {len(report['failed']):>2}"
    )

    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, method, host, port, path, query, request_body, status, response_body "
            "FROM interactions ORDER BY id"
        ).fetchall()
    assert len(rows) == report["imported"]
    port = free_port()
    proc = VirtProcess(
        ["serve", "--db", str(db), "--port", str(port), "--no-proxy", "--confdir", str(confdir)],
        clean_env(),
        tmp_path,
    ).start(lambda: health_ok(port))
    wrong: list[str] = []
    try:
        for iid, method, host, hport, path, query, req_body, status, resp_body in rows:
            target = path + (f"?{query}" if query else "")
            got_status, raw, headers = _send(port, method, host, hport, target, bytes(req_body))
            got_body, _ = encoding.decode_body(raw, header(tuple(headers), "content-encoding"))
            want_body = b"" if method == "HEAD" or status in NO_BODY else bytes(resp_body)
            if got_status != status or tokens_as_claims(got_body) != tokens_as_claims(want_body):
                wrong.append(f"#{iid} {method} {host}{target}: {got_status} (want {status})")
    finally:
        proc.stop()
    replayed = len(rows) - len(wrong)
    report_figure(
        "corpus: virt import, then virt serve replays each imported request",
        f"{counts}  self-replay {replayed}/{len(rows)} ({100 * replayed / len(rows):.1f}%)",
    )
    assert not wrong, f"{len(wrong)} of {len(rows)} did not replay: {wrong[:10]}"


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_a_malformed_corpus_file_read_as_its_format_names_itself(name: str, tmp_path: Path) -> None:
    corpus = require_corpus()
    fmt = name.split("/", 1)[0]
    path = corpus / name
    done = subprocess.run(
        [*VIRT, "import", "--db", str(tmp_path / "m.db"), "--format", fmt, str(path)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert f"virt: cannot import {path}: " in done.stderr
    assert "Traceback" not in done.stderr


ROUND_TRIP_SOURCES = ["vcr/graphql-python__gql", "har/Netflix__pollyjs", "nock", "httpreplay"]


def _exchanges(db: Path) -> list[tuple[object, ...]]:
    with sqlite3.connect(db) as conn:
        return conn.execute(
            "SELECT method, scheme, host, port, path, query, request_body, status, "
            "response_headers, response_body FROM interactions ORDER BY id"
        ).fetchall()


@pytest.mark.parametrize("fmt", ["har", "vcr", "wiremock"])
def test_export_then_import_through_the_cli_keeps_every_exchange(fmt: str, tmp_path: Path) -> None:
    corpus = require_corpus()
    first, second = tmp_path / "first.db", tmp_path / "second.db"
    sources = [str(corpus / s) for s in ROUND_TRIP_SOURCES]
    subprocess.run(
        [*VIRT, "import", "--db", str(first), *sources],
        env=clean_env(),
        check=True,
        capture_output=True,
    )
    out = tmp_path / f"export.{fmt}"
    subprocess.run(
        [*VIRT, "export", "--db", str(first), "--format", fmt, "-o", str(out)],
        env=clean_env(),
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [*VIRT, "import", "--db", str(second), "--format", fmt, str(out)],
        env=clean_env(),
        check=True,
        capture_output=True,
    )
    before, after = _exchanges(first), _exchanges(second)
    assert len(after) == len(before) > 100
    if fmt == "wiremock":
        # WireMock records no host, and groups repeated headers: compare what it keeps
        def kept(row: tuple[object, ...]) -> tuple[object, ...]:
            method, _, _, _, path, query, req_body, status, _, body = row
            return (method, path, query, req_body, status, body)

        assert [kept(r) for r in after] == [kept(r) for r in before]
    elif fmt == "vcr":
        # VCR.py keeps headers as a mapping of lists: repeats come back grouped under one name
        def grouped(row: tuple[object, ...]) -> tuple[object, ...]:
            headers = json.loads(str(row[8]))
            names = list(dict.fromkeys(n for n, _ in headers))
            regrouped = [[n, v] for name in names for n, v in headers if n == name]
            return (*row[:8], json.dumps(regrouped), row[9])

        assert [grouped(r) for r in after] == [grouped(r) for r in before]
    else:
        assert after == before
