"""`virt schema --openapi` through the real CLI, over octokit's recorded GitHub fixtures: the
document validates as OpenAPI 3.1, describes the recorded routes with their schemas and one
recorded answer each, never copies a request header, and is read back by `virt import` and by
`virt serve --openapi`, which answers from it on an empty database."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from openapi_spec_validator import validate

from tests.formats.corpus import require_corpus
from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok
from virt.store import Store

OCTOKIT = "nock/octokit__fixtures"
GUARD = 120.0
"""Seconds before a command is called hung (not a speed goal)."""


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run(
        [*VIRT, *args], env=clean_env(), cwd=cwd, capture_output=True, timeout=GUARD, check=False
    )


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """octokit's fixtures imported with `virt import`."""
    where = tmp_path_factory.mktemp("openapi")
    db = where / "github.db"
    done = run("import", "--db", str(db), str(require_corpus() / OCTOKIT), cwd=where)
    assert done.returncode == 0, done.stderr.decode()
    return db


@pytest.fixture(scope="module")
def written(github: Path) -> tuple[Path, bytes]:
    """The learned document, as `virt schema --openapi -o api.yaml` writes it."""
    out = github.parent / "api.yaml"
    done = run("schema", "--db", str(github), "--openapi", "-o", str(out), cwd=github.parent)
    assert done.returncode == 0, done.stderr.decode()
    assert b"Traceback" not in done.stderr and done.stdout == b""
    assert b"wrote " in done.stderr
    return out, out.read_bytes()


def test_the_learned_document_validates_as_openapi_3_1(written: tuple[Path, bytes]) -> None:
    document = yaml.safe_load(written[1])
    validate(document)  # openapi-spec-validator: raises on any violation
    assert document["openapi"] == "3.1.0"
    assert document["info"]["title"] == "github"  # the database's name
    servers = [s["url"] for s in document["servers"]]
    assert servers == ["https://api.github.com", "https://uploads.github.com"]


def test_paths_operations_and_parameters_follow_the_recorded_routes(
    written: tuple[Path, bytes],
) -> None:
    paths: dict[str, Any] = yaml.safe_load(written[1])["paths"]
    repository = paths["/repositories/{id}"]
    assert set(repository) >= {"servers", "get", "patch", "delete"}
    get = repository["get"]
    assert get["parameters"] == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}
    ]
    ok = get["responses"]["200"]["content"]["application/json"]
    assert ok["schema"]["type"] == "object" and "full_name" in ok["schema"]["required"]
    assert ok["example"]["full_name"].startswith("octokit-fixture-org/")
    assert set(ok["example"]) == set(ok["schema"]["properties"])
    # two templated segments get two names
    two = paths["/repos/octokit-fixture-org/{id}/issues/{id2}/labels"]["post"]
    assert [p["name"] for p in two["parameters"]] == ["id", "id2"]
    # the query a client sent, and the body it sent, as recorded
    issues = paths["/repositories/{id}/issues"]["get"]
    query = {p["name"]: p for p in issues["parameters"] if p["in"] == "query"}
    assert {"per_page", "page"} <= set(query)
    patch = repository["patch"]["requestBody"]["content"]["application/json"]["schema"]
    assert patch["type"] == "object" and patch["properties"]
    ids = [op["operationId"] for item in paths.values() for k, op in item.items() if k != "servers"]
    assert len(ids) == len(set(ids))


def test_routes_of_bytes_are_listed_apart_and_never_become_operations(
    written: tuple[Path, bytes],
) -> None:
    document = yaml.safe_load(written[1])
    opaque = {o["route"] for o in document["x-virt-opaque"]}
    assert "POST https://api.github.com:443/markdown" in opaque  # answered with HTML
    assert "/markdown" not in document["paths"]
    assert not any("codeload.github.com" in s["url"] for s in document["servers"])


def test_no_request_header_is_copied_into_the_document(written: tuple[Path, bytes]) -> None:
    text = written[1].decode().lower()
    # what octokit's requests carried: its Accept, its fixture marker, the redacted token
    for sent in ("application/vnd.github.v3+json", "x-octokit-fixture-ignore", "[secure]"):
        assert sent not in text


def test_the_same_recordings_give_the_same_document(
    github: Path, written: tuple[Path, bytes]
) -> None:
    again = run("schema", "--db", str(github), "--openapi", cwd=github.parent)
    assert again.returncode == 0 and again.stdout == written[1]
    as_json = github.parent / "api.json"
    done = run("schema", "--db", str(github), "--openapi", "-o", str(as_json), cwd=github.parent)
    assert done.returncode == 0
    assert json.loads(as_json.read_bytes()) == yaml.safe_load(written[1])


def test_virt_import_stores_the_written_document(
    written: tuple[Path, bytes], tmp_path: Path
) -> None:
    done = run("import", "--db", str(tmp_path / "new.db"), str(written[0]), cwd=tmp_path)
    assert done.returncode == 0, done.stderr.decode()
    operations = len(
        [k for item in yaml.safe_load(written[1])["paths"].values() for k in item if k != "servers"]
    )
    line = f"stored OpenAPI document github recorded: {operations} operations"
    assert line in done.stdout.decode()


def test_virt_serve_answers_from_the_written_document_on_an_empty_database(
    written: tuple[Path, bytes], tmp_path: Path
) -> None:
    empty = tmp_path / "empty.db"
    Store.open(empty).close()
    port = free_port()
    args = ["serve", "--db", str(empty), "--port", str(port), "--no-proxy"]
    args += ["--openapi", str(written[0]), "--route", "/=https://api.github.com"]
    server = VirtProcess(args, clean_env(), tmp_path).start(lambda: health_ok(port))
    try:
        got = httpx.get(f"http://127.0.0.1:{port}/repositories/4242", timeout=30)
        missed = httpx.get(f"http://127.0.0.1:{port}/nobody/recorded/this", timeout=30)
        listed = httpx.get(
            f"http://127.0.0.1:{port}/__virt/schemas",
            params={"route": "GET /repositories/4242"},
            timeout=30,
        )
    finally:
        server.stop()
    # the admin API lists the operations of the --openapi document, by file name
    assert listed.status_code == 200, listed.text
    assert listed.json()["routes"] == []  # nothing is recorded
    (document,) = listed.json()["documents"]
    assert (document["name"], document["title"]) == ("api.yaml", "github")
    assert [op["route"] for op in document["operations"]] == ["GET /repositories/{id}"]
    assert str(tmp_path) not in listed.text and str(written[0].parent) not in listed.text
    assert got.status_code == 200, got.text
    assert got.headers["x-virt-match"] == "fallback;source=openapi"
    document = yaml.safe_load(written[1])
    example = document["paths"]["/repositories/{id}"]["get"]["responses"]["200"]["content"]
    assert got.json() == example["application/json"]["example"]
    assert missed.status_code == 599  # a route nobody recorded stays a miss
