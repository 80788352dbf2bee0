"""Stubs with URL patterns, end to end: `virt import` a WireMock folder (urlPathTemplate,
urlPathPattern, urlPattern) and a Hoverfly simulation (a path glob), then `virt serve` answers
the requests their patterns cover (X-Virt-Match: pattern) and misses the rest."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok


def stub(body: str, **request: str) -> dict[str, object]:
    return {"request": {"method": "GET", **request}, "response": {"status": "200", "body": body}}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> str:
    tmp = tmp_path_factory.mktemp("patterns")
    mappings = tmp / "wiremock" / "mappings"
    mappings.mkdir(parents=True)
    for n, mapping in enumerate(
        [
            stub("user", urlPathTemplate="/users/{id}"),
            stub("report", urlPathPattern="/reports/[0-9]{4}-[0-9]{2}"),
            stub("page", urlPattern="/pages\\?n=[0-9]+"),
        ]
    ):
        (mappings / f"{n}.json").write_text(json.dumps(mapping))
    simulation = {
        "data": {
            "pairs": [
                {
                    "request": {
                        "method": [{"matcher": "exact", "value": "GET"}],
                        "destination": [{"matcher": "exact", "value": "localhost"}],
                        "path": [{"matcher": "glob", "value": "/files/*.png"}],
                    },
                    "response": {"status": 200, "body": "png"},
                }
            ]
        },
        "meta": {"schemaVersion": "v5"},
    }
    (tmp / "sim.json").write_text(json.dumps(simulation))
    db = tmp / "stubs.db"
    done = subprocess.run(
        [*VIRT, "import", "--db", str(db), str(tmp / "wiremock"), str(tmp / "sim.json")],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    port = free_port()
    args = ["serve", "--db", str(db), "--port", str(port), "--no-proxy"]
    proc = VirtProcess([*args, "--confdir", str(confdir)], clean_env(), tmp)
    proc.start(lambda: health_ok(port))
    try:
        yield f"http://127.0.0.1:{port}"  # type: ignore[misc]
    finally:
        proc.stop()


@pytest.mark.parametrize(
    ("target", "body"),
    [
        ("/users/42", "user"),
        ("/reports/2024-05", "report"),
        ("/pages?n=7", "page"),
        ("/files/logo.png", "png"),
    ],
)
def test_a_request_a_stub_pattern_covers_is_answered(served: str, target: str, body: str) -> None:
    answer = httpx.get(served + target)
    assert (answer.status_code, answer.text) == (200, body)
    assert answer.headers["x-virt-match"] == "pattern"


@pytest.mark.parametrize(
    "target", ["/users/42/friends", "/reports/2024-5", "/pages?n=seven", "/files/logo.gif"]
)
def test_a_request_no_stub_pattern_covers_is_a_miss(served: str, target: str) -> None:
    answer = httpx.get(served + target)
    assert answer.status_code == 599
    assert answer.headers["x-virt-match"] == "miss"
