"""Memory stays bounded however large the requests that miss: reports, journal and sequences."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from virt.normalize.fields import MAX_BODY_FIELDS, OPAQUE_BODY

KEYS = 100_000
assert KEYS > MAX_BODY_FIELDS


def _rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError(f"no VmRSS for process {pid}")


def _wide(seed: int) -> str:
    """A JSON object of 100k keys (about 1.7 MB), every value different for another seed."""
    return json.dumps({f"field_{i:06d}": f"v{seed}-{i}" for i in range(KEYS)})


@pytest.mark.timeout(600)  # thirty 1.7 MB bodies, parsed and redacted, on a busy machine
def test_thirty_wide_misses_leave_memory_bounded_and_reports_capped(  # type: ignore[no-untyped-def]
    virt, tmp_path: Path
) -> None:
    db = tmp_path / "wide.db"
    db.touch()
    proc, port, _ = virt.serve(db, proxy=False)
    try:
        base = f"http://127.0.0.1:{port}"
        json_type = [["Content-Type", "application/json"]]
        recorded = {
            "request": {
                "method": "POST",
                "url": "https://api.example.com/v1/items",
                "headers": json_type,
                "body": _wide(0),
            },
            "response": {"status": 200, "body": "ok"},
        }
        with httpx.Client(base_url=base, timeout=120) as c:
            assert c.post("/__virt/interactions", json=recorded).status_code == 201
            assert c.post("/__virt/reset").status_code == 200
            before = _rss_mib(proc.proc.pid)  # type: ignore[union-attr]
            for n in range(1, 31):
                r = c.post(
                    "/v1/items",
                    content=_wide(n),
                    headers={"Content-Type": "application/json", "X-Virt-Session": f"s{n}"},
                )
                assert r.status_code == 599
                assert len(r.content) < 200_000, f"miss report of {len(r.content)} bytes"
            after = _rss_mib(proc.proc.pid)  # type: ignore[union-attr]
            report = r.json()
            comparison = report["nearest"][0]["comparison"]
            # past MAX_BODY_FIELDS leaves a body is one digest: the report cannot grow with it
            assert list(comparison["differs"]) == [OPAQUE_BODY]
            assert comparison["groups"]["body"] == 0.0
            diff = report["nearest"][0]["diff"]
            assert diff["body"]["recorded"].endswith(f"({len(_wide(0)):,} characters)")
            entry = c.get("/__virt/journal?limit=1").json()["entries"][0]
            assert len(json.dumps(entry)) < 50_000
            assert list(entry["explain"]["comparison"]["differs"]) == [OPAQUE_BODY]
        assert after - before < 300, f"RSS grew from {before:.0f} MiB to {after:.0f} MiB"
    finally:
        assert proc.stop() == 0, proc.output()
