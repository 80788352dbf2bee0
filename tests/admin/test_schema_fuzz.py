"""schemathesis against a real `virt serve`: no 5xx, every response fits the OpenAPI document."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import httpx

from tests.helpers import VirtProcess, clean_env, free_port, health_ok


def test_schemathesis_finds_no_server_error_and_no_schema_violation(
    tmp_path: Path, confdir: Path
) -> None:
    db = tmp_path / "fuzz.db"
    db.touch()  # an empty file: virt makes it a recordings database
    port = free_port()
    token = "fuzz-token"
    proc = VirtProcess(
        [
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--no-proxy",
            "--confdir",
            str(confdir),
            "--admin-token",
            token,
        ],
        clean_env(),
        tmp_path,
    ).start(lambda: health_ok(port))
    try:
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        seeded = httpx.post(
            f"{base}/__virt/interactions",
            headers=auth,
            json={
                "request": {"method": "GET", "url": "https://api.example.com/users/1"},
                "response": {
                    "status": 200,
                    "body": "{}",
                    "headers": [["Content-Type", "application/json"]],
                },
                "tags": ["seed"],
            },
        )
        assert seeded.status_code == 201, seeded.text
        st = shutil.which("st", path=str(Path(sys.executable).parent))
        assert st is not None, "schemathesis is a dev dependency: pip install -e '.[dev]'"
        run = subprocess.run(
            [
                st,
                "run",
                f"{base}/__virt/openapi.json",
                "--checks",
                "not_a_server_error,response_schema_conformance,status_code_conformance,"
                "content_type_conformance,response_headers_conformance",
                "--max-examples",
                "25",
                "--seed",
                "1",
                "-H",
                f"Authorization: Bearer {token}",
                "--exclude-path",
                "/__virt/import",
                "--no-color",
            ],
            capture_output=True,
            text=True,
            timeout=600,
            env=clean_env(),
        )
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
    finally:
        proc.stop()
    assert "Traceback" not in proc.output()
