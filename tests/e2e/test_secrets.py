"""Secrets through the real recorder: twenty-odd kinds planted in traffic never reach the
database, its -wal and -shm files or an export, matching still finds every interaction, and
`virt scan` tells a raw cassette from redacted recordings."""

from __future__ import annotations

import gzip
import subprocess
from pathlib import Path
from urllib.parse import quote

import httpx
import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request as StarletteRequest
from starlette.responses import Response as StarletteResponse
from starlette.routing import Route

from tests.conftest import Virt
from tests.helpers import VIRT, Upstream, clean_env
from tests.redact.secrets import NOT_SECRETS, SECRETS, planted
from virt.model import Interaction
from virt.redact.text import readable_prefix
from virt.store import Filter, Store
from virt.transfer import export

SENT = [s for k, s in SECRETS.items() if k != "proxy-auth"]  # a proxy consumes its own auth
"""Secrets a client sends through the recorder, or an upstream answers with."""


def leaks(blob: bytes) -> list[str]:
    """The planted secrets found in `blob`, raw or percent-encoded, or a JWT's signature."""
    found = []
    for kind, secret in SECRETS.items():
        forms = {
            secret,
            quote(secret, safe=""),
            secret.split(".")[-1] if kind.endswith("jwt") else secret,
        }
        if any(form.encode() in blob for form in forms):
            found.append(kind)
    return found


def upstream_app(exchanges: list[Interaction]) -> Starlette:
    """Answers each planted request with its planted response, by method and path."""
    by_route = {(i.request.method, i.request.path): i.response for i in exchanges}

    async def answer(request: StarletteRequest) -> StarletteResponse:
        resp = by_route[(request.method, request.url.path)]
        await request.body()
        headers = [(k, v) for k, v in resp.headers]
        return StarletteResponse(resp.body, resp.status, headers=dict(headers))

    routes = {path for _, path in by_route}
    return Starlette(routes=[Route(p, answer, methods=["GET", "POST"]) for p in sorted(routes)])


def send(client: httpx.Client, base: str, i: Interaction) -> httpx.Response:
    r = i.request
    headers = [(k, v) for k, v in r.headers if k.lower() != "proxy-authorization"]
    url = f"{base}{r.path}" + (f"?{r.query}" if r.query else "")
    return client.request(r.method, url, headers=headers, content=r.body)


@pytest.fixture
def recorded(virt: Virt, tmp_path: Path) -> tuple[Path, list[tuple[Interaction, bytes]]]:
    exchanges = planted()
    up = Upstream(upstream_app(exchanges)).start()
    db = tmp_path / "secret.db"
    proc, port = virt.record(db)
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=10) as client:
            answers = [(i, send(client, up.url, i).content) for i in exchanges]
    finally:
        up.stop()
    # the client got the real answers, secrets and all
    assert [body for _, body in answers] == [i.response.body for i in exchanges]
    assert proc.stop() == 0, proc.output()
    return db, answers


def test_no_planted_secret_reaches_the_database_its_wal_and_shm_or_an_export(
    recorded: tuple[Path, list[tuple[Interaction, bytes]]], tmp_path: Path
) -> None:
    db, _ = recorded
    files = [
        p for p in db.parent.iterdir() if p.name.startswith(db.name) and not p.name.endswith(".key")
    ]
    assert {p.name for p in files} >= {db.name}
    for path in files:
        assert leaks(path.read_bytes()) == [], path.name
    store = Store.open(db, readonly=True)
    try:
        assert store.count() == len(planted())
        for fmt in ("har", "vcr", "hoverfly"):
            out = tmp_path / f"export.{fmt}"
            export(store, fmt, out)
            assert leaks(out.read_bytes()) == [], fmt
    finally:
        store.close()
    key = db.with_name(db.name + ".key")
    assert key.stat().st_mode & 0o077 == 0


def test_replay_matches_requests_that_carry_the_real_secrets(
    recorded: tuple[Path, list[tuple[Interaction, bytes]]], virt: Virt
) -> None:
    db, answers = recorded
    _, port, _ = virt.serve(db)
    base = f"http://127.0.0.1:{port}"
    with httpx.Client(timeout=10) as client:
        for interaction, _ in answers:
            r = interaction.request
            reply = send(client, base, interaction) if r.host == "api.example.com" else None
            if reply is None:
                continue  # the S3 host is not this direct door's only origin
            assert reply.status_code == interaction.response.status, reply.text
            assert reply.headers["x-virt-match"] in ("exact", "fuzzy;score=1.00")
            assert leaks(reply.content) == []


def test_scan_finds_the_secrets_of_a_raw_cassette_and_none_in_redacted_recordings(
    recorded: tuple[Path, list[tuple[Interaction, bytes]]], tmp_path: Path
) -> None:
    db, _ = recorded
    raw = tmp_path / "raw.db"
    store = Store.open(raw)
    from virt.normalize import keys

    for i in planted():
        store.insert(i, keys(i.request))
    cassette = tmp_path / "planted.yaml"
    export(store, "vcr", cassette)
    store.close()
    env = clean_env()

    def virt_scan(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*VIRT, "scan", "--json", *args],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            cwd=tmp_path,
        )

    found = virt_scan(str(cassette))
    assert found.returncode == 1, found.stderr
    findings = [orjson.loads(line) for line in found.stdout.splitlines()]
    assert len(findings) >= 20
    kinds = {f["kind"] for f in findings}
    assert {"jwt", "private-key", "aws-access-key-id", "github-token", "slack-token"} <= kinds
    places = {f["where"] for f in findings}
    assert {
        "request.path",
        "request.headers.X-RapidAPI-Key",
        "request.headers.X-Auth-Key",
        "request.headers.Ocp-Apim-Subscription-Key",
        "request.headers.X-Authorization",
        "request.query.auth_token",
        "request.query.private_token",
        "request.query.api-key",
        "request.query",  # the bare key
        "response.body $.clientSecret",
        "response.body $.accessToken",
        "request.body.password",  # the latin-1 form
    } <= places, sorted(places)
    bodies = {f["excerpt"][:4] for f in findings if f["where"].startswith("request.body")}
    assert {"l1-j", "l1-f", "deep"} <= bodies  # JSON and form not UTF-8, JSON 1000 deep
    assert leaks(found.stdout.encode()) == []  # excerpts are masked
    assert "secret(s) found" in found.stderr

    imported = tmp_path / "imported.db"
    done = subprocess.run(
        [*VIRT, "import", "--db", str(imported), str(cassette)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    for target in (["--db", str(db)], ["--db", str(imported)]):
        clean = virt_scan(*target)
        assert (clean.returncode, clean.stdout) == (0, ""), clean.stderr
    assert leaks(imported.read_bytes()) == []


def test_values_that_are_no_credentials_replay_byte_identical(
    recorded: tuple[Path, list[tuple[Interaction, bytes]]], virt: Virt
) -> None:
    db, answers = recorded
    _, port, _ = virt.serve(db)
    [(interaction, original)] = [
        (i, body) for i, body in answers if body == orjson.dumps(NOT_SECRETS)
    ]
    with httpx.Client(timeout=10) as client:
        reply = send(client, f"http://127.0.0.1:{port}", interaction)
    assert reply.headers["x-virt-match"] == "exact"
    assert reply.content == original  # emoji URL, PGP and thinking signatures, *****


def stacked_app(body: bytes) -> Starlette:
    """Answers with `body` twice gzipped, as Content-Encoding: gzip, gzip says."""

    async def answer(request: StarletteRequest) -> StarletteResponse:
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip, gzip"}
        return StarletteResponse(gzip.compress(gzip.compress(body)), 200, headers=headers)

    return Starlette(routes=[Route("/me", answer)])


def test_a_stacked_gzip_body_never_reaches_the_database_with_its_password(
    virt: Virt, tmp_path: Path
) -> None:
    password = "stacked-gzip-pass-5e4d3c2b"
    body = orjson.dumps({"user": "ada", "password": password})
    up = Upstream(stacked_app(body)).start()
    db = tmp_path / "stacked.db"
    proc, port = virt.record(db)
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=10) as client:
            reply = client.get(f"{up.url}/me")
    finally:
        up.stop()
    assert proc.stop() == 0, proc.output()
    store = Store.open(db, readonly=True)
    try:
        stored = store.find(Filter())
    finally:
        store.close()
    if reply.status_code == 502:  # refused: the password could not be taken out
        assert stored == [] and "cannot redact the response body" in reply.text
        assert password not in reply.text
    else:  # decoded, then redacted
        assert reply.status_code == 200 and reply.content == body
        [interaction] = stored
        assert password.encode() not in interaction.response.body
        assert b'"user":"ada"' in interaction.response.body
    for path in db.parent.iterdir():
        data = path.read_bytes()
        assert password.encode() not in data
        assert password.encode() not in readable_prefix(data, "gzip, gzip")
