"""OpenAPI documents through the real CLI: `virt import` stores a valid one and refuses an
invalid one naming the pointer and the rule; `virt serve --openapi` refuses a bad document
before starting (exit 2) and starts with a good one."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
from pathlib import Path

import httpx
import yaml

from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import Store

PETSTORE = Path(__file__).parents[1] / "data" / "petstore-3.0.yaml"
GUARD = 120.0
"""Seconds before a command is called hung (not a speed goal)."""

BAD = b"""openapi: 3.1.0
info: {title: Broken, version: '1'}
paths:
  /pets:
    get:
      responses:
        '200':
          content: {application/json: {schema: {type: object}}}
"""
BAD_POINTER = "/paths/~1pets/get/responses/200"


def run(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*VIRT, *args],
        env=env or clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=GUARD,
        check=False,
    )


def stored(db: Path) -> list[tuple[str, str]]:
    conn = sqlite3.connect(db)
    try:
        return [(k, n) for k, n in conn.execute("SELECT kind, name FROM documents ORDER BY id")]
    finally:
        conn.close()


def test_virt_import_stores_a_valid_openapi_document(tmp_path: Path) -> None:
    db = tmp_path / "api.db"
    done = run("import", "--db", str(db), str(PETSTORE), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    assert "stored OpenAPI document Petstore 2.1.0: 7 operations" in done.stdout
    assert stored(db) == [("openapi", "petstore-3.0.yaml")]
    again = run("import", "--db", str(db), str(PETSTORE), cwd=tmp_path)
    assert again.returncode == 0 and stored(db) == [("openapi", "petstore-3.0.yaml")]


def test_virt_import_reads_a_json_document_before_the_recording_formats(tmp_path: Path) -> None:
    as_json = tmp_path / "petstore.json"
    as_json.write_text(json.dumps(yaml.safe_load(PETSTORE.read_text())), encoding="utf-8")
    db = tmp_path / "api.db"
    done = run("import", "--db", str(db), "--json", str(as_json), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["documents"] == ["stored OpenAPI document Petstore 2.1.0: 7 operations"]
    assert (report["files"], report["imported"], report["failed"]) == (1, 0, [])
    assert stored(db) == [("openapi", "petstore.json")]


def test_virt_import_refuses_an_invalid_document_naming_pointer_and_rule(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(BAD)
    db = tmp_path / "api.db"
    done = run("import", "--db", str(db), str(bad), str(PETSTORE), cwd=tmp_path)
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    line = next(x for x in done.stderr.splitlines() if "bad.yaml" in x)
    assert line.startswith(f"virt: cannot import {bad}: not a valid OpenAPI document: ")
    assert f"at {BAD_POINTER}:" in line and "(rule: required)" in line
    assert line.endswith("(nothing stored)")
    assert stored(db) == [("openapi", "petstore-3.0.yaml")]  # the good file goes on


def test_virt_import_reports_an_unparsable_document_with_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_bytes(b"openapi: 3.0.3\ninfo:\n  title: [unclosed\n")
    done = run("import", "--db", str(tmp_path / "api.db"), str(bad), cwd=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert f"virt: cannot import {bad}: line " in done.stderr
    assert "column" in done.stderr and "not valid YAML" in done.stderr


def _db(tmp_path: Path) -> Path:
    db = tmp_path / "api.db"
    store = Store.open(db)
    request = Request("GET", "https", "petstore.example.com", 443, "/api/v2/pets/1")
    store.insert(Interaction(request, Response(200, body=b"{}")), exact_key(request))
    store.close()
    return db


def _serve_args(db: Path, port: int, *extra: str) -> list[str]:
    return ["serve", "--db", str(db), "--port", str(port), "--no-proxy", *extra]


def test_virt_serve_refuses_a_bad_openapi_document_with_exit_code_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(BAD)
    db = _db(tmp_path)
    done = run(*_serve_args(db, free_port(), "--openapi", str(bad)), cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    error = [x for x in done.stderr.splitlines() if "--openapi" in x]
    assert len(error) == 1, done.stderr
    assert f"{bad}: not a valid OpenAPI document: at {BAD_POINTER}" in error[0]
    assert "(rule: required)" in error[0]


def test_virt_serve_reads_openapi_documents_from_the_environment(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_bytes(BAD)
    db = _db(tmp_path)
    env = clean_env(VIRT_OPENAPI=f"{PETSTORE}{os.pathsep}{bad}")
    done = run(*_serve_args(db, free_port()), cwd=tmp_path, env=env)
    assert done.returncode == 2 and "bad.yaml: not a valid OpenAPI document" in done.stderr
    missing = run(*_serve_args(db, free_port(), "--openapi", "nowhere.yaml"), cwd=tmp_path)
    assert missing.returncode == 2 and "nowhere.yaml: cannot be read" in missing.stderr


def test_virt_serve_starts_with_a_valid_openapi_document(tmp_path: Path) -> None:
    db = _db(tmp_path)
    port = free_port()
    proc = VirtProcess(_serve_args(db, port, "--openapi", str(PETSTORE)), clean_env(), tmp_path)
    proc.start(lambda: health_ok(port))
    try:
        assert proc.proc is not None and proc.proc.poll() is None
    finally:
        assert proc.stop() == 0, proc.output()


def test_a_document_imported_while_serving_answers_without_a_restart(tmp_path: Path) -> None:
    db = _db(tmp_path)
    port = free_port()
    proc = VirtProcess(_serve_args(db, port), clean_env(), tmp_path)
    proc.start(lambda: health_ok(port))
    base = f"http://127.0.0.1:{port}"
    try:
        before = httpx.get(f"{base}/api/v2/pets", timeout=10)
        assert (before.status_code, before.headers["x-virt-match"]) == (599, "miss")
        imported = httpx.post(
            f"{base}/__virt/import",
            params={"filename": "petstore.yaml"},
            content=PETSTORE.read_bytes(),
            headers={"Content-Type": "application/octet-stream"},
            timeout=30,
        )
        assert imported.status_code == 200, imported.text
        after = httpx.get(f"{base}/api/v2/pets", timeout=10)
        assert after.headers["x-virt-match"] == "fallback;source=openapi"
        assert after.status_code == 200
        document = yaml.safe_load(PETSTORE.read_bytes())
        media = document["paths"]["/pets"]["get"]["responses"][200]["content"]
        assert after.json() == media["application/json"]["examples"]["two"]["value"]
    finally:
        assert proc.stop() == 0, proc.output()
