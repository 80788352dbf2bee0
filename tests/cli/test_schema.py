"""`virt schema` through the real CLI over octokit's recorded GitHub fixtures: the routes as a
table (tab-separated when piped), one route's schemas as JSON, and bad input refused with exit
status 1 or 2, a `virt: ` line and a hint."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.formats.corpus import require_corpus
from tests.helpers import VIRT, clean_env

OCTOKIT = "nock/octokit__fixtures"
GUARD = 120.0
"""Seconds before a command is called hung (not a speed goal)."""


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


@pytest.fixture(scope="module")
def github(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("schema")
    db = where / "github.db"
    done = run("import", "--db", str(db), str(require_corpus() / OCTOKIT), cwd=where)
    assert done.returncode == 0, done.stderr
    return db


def test_schema_lists_every_route_one_tab_separated_line_each_when_piped(github: Path) -> None:
    done = run("schema", "--db", str(github), cwd=github.parent)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) > 100
    rows = {tuple(line.split("\t")[:2]): line.split("\t")[2:] for line in lines}
    # method, URL template: recordings, success status, structured, fallback
    assert rows["GET", "https://api.github.com/repositories/{id}"] == ["2", "200", "yes", "yes"]
    assert rows["POST", "https://api.github.com/markdown"] == ["2", "200", "no", "no"]


def test_schema_of_one_route_prints_its_schemas_as_json(github: Path) -> None:
    for asked in (
        "GET /repositories/{id}",
        "GET /repositories/1000",
        "get https://api.github.com/repositories/1000",
    ):
        done = run("schema", "--db", str(github), asked, cwd=github.parent)
        assert done.returncode == 0, done.stderr
        shown = json.loads(done.stdout)
        assert shown["route"] == "GET https://api.github.com:443/repositories/{id}"
        assert shown["responses"]["200"]["properties"]["full_name"]["type"] == "string"
        assert (shown["fallback"], shown["why"]) == (True, None)


def test_schema_of_a_route_of_bytes_says_why_it_gets_no_fallback(github: Path) -> None:
    done = run("schema", "--db", str(github), "POST /markdown", cwd=github.parent)
    assert done.returncode == 0, done.stderr
    shown = json.loads(done.stdout)
    assert (shown["structured"], shown["fallback"]) == (False, False)
    assert "not JSON" in shown["why"]


def test_schema_json_prints_one_object_per_route(github: Path) -> None:
    done = run("schema", "--db", str(github), "--json", "labels", cwd=github.parent)
    assert done.returncode == 0, done.stderr
    shown = [json.loads(line) for line in done.stdout.splitlines()]
    assert len(shown) > 5 and all("labels" in s["route"] for s in shown)
    assert all({"request", "query", "responses"} <= set(s) for s in shown)


def test_schema_of_an_ambiguous_route_names_the_candidates(github: Path) -> None:
    done = run("schema", "--db", str(github), "labels", cwd=github.parent)
    assert done.returncode == 1 and done.stdout == ""
    first, hint = done.stderr.splitlines()
    assert first.startswith("virt: 'labels' matches ") and "/labels" in first
    assert hint.startswith("  give METHOD and the path template")


def test_schema_of_an_unknown_route_exits_1_with_a_hint(github: Path) -> None:
    done = run("schema", "--db", str(github), "GET /nobody/recorded", cwd=github.parent)
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr.splitlines() == [
        "virt: no recorded route matches 'GET /nobody/recorded'",
        f"  virt schema --db {github} lists the recorded routes",
    ]


def test_schema_limits_the_routes_it_shows_and_says_so(github: Path) -> None:
    done = run("schema", "--db", str(github), "--limit", "3", cwd=github.parent)
    assert done.returncode == 0
    assert len(done.stdout.splitlines()) == 3
    assert "showing 3 route(s) of " in done.stderr


def test_schema_refuses_output_without_openapi_and_a_missing_database(tmp_path: Path) -> None:
    done = run("schema", "--db", str(tmp_path / "x.db"), "-o", "api.yaml", cwd=tmp_path)
    assert done.returncode == 2 and "give --openapi" in done.stderr
    missing = run("schema", "--db", str(tmp_path / "x.db"), cwd=tmp_path)
    assert missing.returncode == 1 and "Traceback" not in missing.stderr
    assert missing.stderr.startswith(f"virt: {tmp_path / 'x.db'} does not exist")
