"""An LLM SDK's own recorded cassette (../shared/corpus) replayed by a client on another machine:
the SDK's telemetry headers (`x-stainless-os`, `-arch`, `-runtime-version`, `-package-version`,
`-retry-count`) differ from the recording's, and say nothing about what is asked."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import httpx
import orjson
import yaml

from tests.formats.corpus import require_corpus
from tests.helpers import VIRT, clean_env

CASSETTE = "vcr/simonw__llm-anthropic/tests/cassettes/test_anthropic/test_prompt.yaml"

ANOTHER_MACHINE = {
    "x-stainless-os": "Linux",
    "x-stainless-arch": "x64",
    "x-stainless-runtime-version": "3.12.7",
    "x-stainless-package-version": "0.81.0",
    "x-stainless-retry-count": "1",
    "user-agent": "Anthropic/Python 0.81.0",
}


def recorded_request(path: Path) -> tuple[dict[str, str], dict[str, Any]]:
    """The cassette's first request: its headers (one value each) and its JSON body."""
    cassette = yaml.safe_load(path.read_text())
    request = cassette["interactions"][0]["request"]
    headers = {k: v[0] for k, v in request["headers"].items()}
    return headers, orjson.loads(request["body"])


def test_sdk_telemetry_headers_never_count(virt: Any, tmp_path: Path) -> None:
    cassette = require_corpus() / CASSETTE
    db = tmp_path / "sdk.db"
    subprocess.run(
        [*VIRT, "import", "--db", str(db), str(cassette)],
        env=clean_env(),
        check=True,
        capture_output=True,
        timeout=120,
    )
    headers, body = recorded_request(cassette)
    assert set(ANOTHER_MACHINE) <= set(headers), "the cassette no longer carries the telemetry"
    headers.update(ANOTHER_MACHINE)
    for hop in ("host", "content-length", "connection", "accept-encoding"):
        headers.pop(hop)
    # the suite also asks for another max_tokens: a real difference, which scoring weighs
    body["max_tokens"] = 1024
    _, port, _ = virt.serve(db, proxy=False)
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        resp = client.post("/v1/messages", content=orjson.dumps(body), headers=headers)
        assert resp.status_code == 200, resp.text[:2000]
        assert resp.headers["x-virt-match"].startswith("fuzzy;score="), resp.headers
        assert "event: message_start" in resp.text
        entry = client.get("/__virt/journal").json()["entries"][0]
    comparison = entry["explain"]["comparison"]
    # the telemetry is neither a difference nor worth a mention; max_tokens is both
    assert comparison["differs"] == {"body:$.max_tokens": {"sent": "1024", "recorded": "8192"}}
    assert comparison["groups"]["headers"] == 1.0
    assert not any(n.startswith("header:x-stainless") for n in comparison.get("ignored", []))
