"""The real `virt` command on bad input: exit 1, one `virt: ` line and a hint, inputs untouched."""

from __future__ import annotations

import socket
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import Virt
from tests.helpers import VIRT, clean_env, free_port
from tests.mounts import read_only_dir
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import SCHEMA_VERSION, Store

GUARD = 60.0
"""Seconds before a command that should have failed at once is called hung (not a speed goal)."""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VIRT, *args],
        env=clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


def assert_refused(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    """Exit 1; stderr one `virt: ` line naming the problem, at most one indented hint; no trace."""
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output
    assert done.returncode == 1, output
    lines = done.stderr.splitlines()
    assert 1 <= len(lines) <= 2, f"expected a message and at most a hint:\n{done.stderr}"
    assert lines[0].startswith("virt: "), lines[0]
    if len(lines) == 2:
        assert lines[1].startswith("  ") and lines[1].strip(), lines[1]
    for needle in needles:
        assert needle in lines[0], f"{needle!r} not in {lines[0]!r}"
    assert done.stdout == ""
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def make_virt_db(path: Path) -> Path:
    store = Store.open(path)
    request = Request("GET", "https", "api.example.com", 443, "/users/1")
    store.insert(Interaction(request, Response(200, body=b"{}")), exact_key(request))
    store.close()
    return path


def db_args(command: str, db: Path, confdir: Path) -> list[str]:
    """Arguments that would start `command` on free ports, but for `db`."""
    if command == "record":
        return ["record", "--db", str(db), "--port", str(free_port()), "--confdir", str(confdir)]
    return [
        "serve",
        "--db",
        str(db),
        "--port",
        str(free_port()),
        "--proxy-port",
        str(free_port()),
        "--confdir",
        str(confdir),
    ]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    """The folder each command runs in and keeps its inputs in."""
    d = tmp_path / "work"
    d.mkdir()
    return d


@pytest.fixture
def busy_port() -> Iterator[int]:
    """A port some other program is listening on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        yield int(s.getsockname()[1])


both = pytest.mark.parametrize("command", ["record", "serve"])


@both
def test_a_text_file_as_db_is_refused_untouched(work: Path, confdir: Path, command: str) -> None:
    db = work / "notes.db"
    db.write_text("my notes\n" * 100)
    before = snapshot(work)
    assert_refused(run(*db_args(command, db, confdir), cwd=work), str(db), "not an SQLite")
    assert snapshot(work) == before


@both
def test_a_directory_as_db_is_refused_untouched(work: Path, confdir: Path, command: str) -> None:
    db = work / "recordings"
    db.mkdir()
    (db / "keep").write_bytes(b"\x00\x01")
    before = snapshot(work)
    assert_refused(run(*db_args(command, db, confdir), cwd=work), str(db), "is a directory")
    assert snapshot(work) == before


@both
def test_a_foreign_sqlite_database_is_refused_untouched(
    work: Path, confdir: Path, command: str
) -> None:
    db = work / "app.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE orders (id INTEGER PRIMARY KEY)")
    conn.commit()
    conn.close()
    before = snapshot(work)
    assert_refused(run(*db_args(command, db, confdir), cwd=work), str(db), "not a virt recording")
    assert snapshot(work) == before


@both
def test_a_newer_schema_is_refused_naming_both_versions(
    work: Path, confdir: Path, command: str
) -> None:
    db = work / "future.db"
    conn = sqlite3.connect(db)
    conn.execute("CREATE TABLE interactions (id INTEGER PRIMARY KEY)")
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.commit()
    conn.close()
    before = snapshot(work)
    line = assert_refused(run(*db_args(command, db, confdir), cwd=work), str(db), "newer virt")
    assert f"schema {SCHEMA_VERSION + 1}" in line and f"up to {SCHEMA_VERSION}" in line
    assert snapshot(work) == before


@both
def test_a_damaged_virt_database_is_refused_untouched(
    work: Path, confdir: Path, command: str, tmp_path: Path
) -> None:
    good = make_virt_db(tmp_path / "good.db").read_bytes()
    db = work / "rec.db"
    db.write_bytes(good[:100] + b"\xff" * (len(good) - 100))
    before = snapshot(work)
    assert_refused(run(*db_args(command, db, confdir), cwd=work), str(db), "damaged")
    assert snapshot(work) == before


def test_serve_refuses_a_database_that_does_not_exist(work: Path, confdir: Path) -> None:
    db = work / "missing.db"
    assert_refused(run(*db_args("serve", db, confdir), cwd=work), str(db), "does not exist")
    assert snapshot(work) == {}


@pytest.mark.parametrize("nested", [False, True], ids=["in-folder", "in-new-subfolder"])
def test_record_refuses_a_read_only_place(tmp_path: Path, confdir: Path, nested: bool) -> None:
    with read_only_dir(tmp_path / "ro") as ro:
        db = ro / "sub" / "rec.db" if nested else ro / "rec.db"
        done = run(*db_args("record", db, confdir), cwd=tmp_path)
        assert snapshot(ro) == {}
    line = assert_refused(done)
    assert "cannot create folder" in line if nested else "cannot write" in line
    assert str(ro) in line


def test_record_refuses_a_port_in_use(work: Path, confdir: Path, busy_port: int) -> None:
    db = work / "rec.db"
    args = ["record", "--db", str(db), "--port", str(busy_port), "--confdir", str(confdir)]
    assert_refused(run(*args, cwd=work), f"port {busy_port}", "already in use")
    assert not db.exists()


@pytest.mark.parametrize("which", ["--port", "--proxy-port"])
def test_serve_refuses_a_port_in_use_leaving_the_database_untouched(
    work: Path, confdir: Path, busy_port: int, which: str
) -> None:
    db = make_virt_db(work / "rec.db")
    before = snapshot(work)
    ports = {"--port": str(free_port()), "--proxy-port": str(free_port()), which: str(busy_port)}
    args = ["serve", "--db", str(db), *(x for kv in ports.items() for x in kv)]
    assert_refused(run(*args, "--confdir", str(confdir), cwd=work), f"port {busy_port}", "in use")
    assert snapshot(work) == before


def test_record_refuses_an_unreachable_upstream_before_creating_anything(
    work: Path, confdir: Path
) -> None:
    closed = free_port()  # bound and released: nothing listens there now
    db = work / "rec.db"
    args = [*db_args("record", db, confdir), "--reverse", f"https://127.0.0.1:{closed}"]
    assert_refused(run(*args, cwd=work), f"cannot reach https://127.0.0.1:{closed}")
    assert snapshot(work) == {}


@pytest.mark.parametrize("url", ["ftp://127.0.0.1", "https://127.0.0.1:99999", "https://h:x"])
def test_record_refuses_a_bad_reverse_url(work: Path, confdir: Path, url: str) -> None:
    db = work / "rec.db"
    assert_refused(run(*db_args("record", db, confdir), "--reverse", url, cwd=work), "--reverse")
    assert snapshot(work) == {}


@pytest.mark.parametrize("route", ["nonsense", "/x=https://h:99999"])
def test_serve_refuses_a_bad_route(work: Path, confdir: Path, route: str) -> None:
    db = make_virt_db(work / "rec.db")
    before = snapshot(work)
    args = [*db_args("serve", db, confdir), "--route", route]
    assert_refused(run(*args, cwd=work), "bad --route", repr(route))
    assert snapshot(work) == before


@pytest.mark.parametrize(
    "args",
    [
        ["--help"],
        ["-h"],
        ["record", "--help"],
        ["serve", "--help"],
        ["serve", "-h"],
        ["ca", "--help"],
    ],
    ids=" ".join,
)
def test_help_prints_usage_on_stdout_and_exits_0(work: Path, args: list[str]) -> None:
    done = run(*args, cwd=work)
    assert done.returncode == 0, done.stderr
    command = " ".join(a for a in args if not a.startswith("-"))
    assert done.stdout.startswith(f"Usage: virt {command}".rstrip() + " ")
    assert "Options:" in done.stdout
    assert done.stderr == ""


def test_ca_prints_where_the_ca_is_and_the_exports_that_trust_it(tmp_path: Path) -> None:
    confdir = tmp_path / "fresh-confdir"
    done = run("ca", "--confdir", str(confdir), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    cert = confdir / "mitmproxy-ca-cert.pem"
    bundle = confdir / "virt-ca-bundle.pem"
    assert f"# CA certificate: {cert}" in lines
    assert f"export SSL_CERT_FILE={bundle}" in lines
    assert f"export REQUESTS_CA_BUNDLE={bundle}" in lines
    assert f"export NODE_EXTRA_CA_CERTS={cert}" in lines
    assert cert.read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert bundle.read_bytes().endswith(cert.read_bytes())
    assert bundle.stat().st_size > cert.stat().st_size  # public roots come first


def test_ca_bundle_prints_only_the_bundle_path(tmp_path: Path, confdir: Path) -> None:
    done = run("ca", "--confdir", str(confdir), "--bundle", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{confdir / 'virt-ca-bundle.pem'}\n"


def test_serve_answers_from_a_database_on_a_read_only_mount(tmp_path: Path, virt: Virt) -> None:
    # recordings baked into a read-only volume are still served, read-only
    with read_only_dir(tmp_path / "ro", lambda d: make_virt_db(d / "rec.db")) as ro:
        before = snapshot(ro)
        proc, port, _ = virt.serve(ro / "rec.db")
        try:
            resp = httpx.get(f"http://127.0.0.1:{port}/users/1", timeout=10)
        finally:
            assert proc.stop() == 0
        assert snapshot(ro) == before
    assert (resp.status_code, resp.content) == (200, b"{}")
    assert "is read-only: serving it as is" in proc.output()


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        ("[match\nthreshold = 0.9\n", ["virt.toml is not valid TOML", "line 1"]),
        ("[matching]\nthreshold = 0.9\n", ["unknown table 'matching'"]),
        ("[[route]]\npath = '/x'\nthreshold = 3\n", ["virt.toml: route[0].threshold"]),
        ("[[route]]\nignore = ['cookie:sid']\n", ["route[0].ignore[0]", "is not a field"]),
        ("[match]\nweights = { bodies = 2 }\n", ["match.weights: unknown group 'bodies'"]),
    ],
    ids=["syntax", "unknown-table", "threshold", "field", "weights"],
)
def test_serve_refuses_bad_rules_naming_where_they_are_wrong(
    work: Path, confdir: Path, text: str, needles: list[str]
) -> None:
    db = make_virt_db(work / "rec.db")
    (work / "virt.toml").write_text(text)
    before = snapshot(work)
    assert_refused(run(*db_args("serve", db, confdir), cwd=work), *needles)
    assert snapshot(work) == before


def test_serve_refuses_a_config_file_that_does_not_exist(work: Path, confdir: Path) -> None:
    db = make_virt_db(work / "rec.db")
    args = [*db_args("serve", db, confdir), "--config", str(work / "nope.toml")]
    assert_refused(run(*args, cwd=work), "nope.toml does not exist")


def test_serve_reads_virt_toml_from_its_working_directory(tmp_path: Path, virt: Virt) -> None:
    db = make_virt_db(tmp_path / "rec.db")
    (tmp_path / "virt.toml").write_text(
        "[match]\nthreshold = 0.95\n\n[[route]]\nname = 'users'\npath = '/users/{id}'\n"
    )
    _, port, _ = virt.serve(db)
    shown = httpx.get(f"http://127.0.0.1:{port}/__virt/rules").json()
    assert shown["source"] == "virt.toml"
    assert shown["rules"]["match"]["threshold"] == 0.95
    assert shown["rules"]["route"] == [{"name": "users", "path": "/users/{id}"}]
