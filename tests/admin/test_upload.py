"""POST /__virt/import: reports name the upload, never the temporary folder it was read from,
and stay small however many entries the upload skips."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from tests.admin.test_api import BINARY, Client, run
from virt import transfer


def test_an_upload_is_reported_and_stored_by_its_name_never_its_temporary_folder(
    tmp_path: Path,
) -> None:
    mapping = {
        "request": {"method": "GET", "url": "/a"},
        "response": {"status": 200, "bodyFileName": "missing.json"},
    }
    ok = {"request": {"method": "GET", "url": "/b"}, "response": {"status": 200, "body": "b"}}
    keploy = b"version: api.keploy.io/v1beta1\nkind: Http\nname: t\nspec: [a, b\n"

    async def body(c: Client) -> None:
        imported = await c.post(
            "/__virt/import",
            params={"filename": "m.json", "format": "wiremock"},
            content=json.dumps({"mappings": [mapping, ok]}).encode(),
            headers=BINARY,
        )
        broken = await c.post(
            "/__virt/import", params={"filename": "test-1.yaml"}, content=keploy, headers=BINARY
        )
        for answer in (imported, broken):
            assert answer.status_code == 200, answer.text
            assert "virt-import-" not in answer.text, answer.text
            assert tempfile.gettempdir() not in answer.text, answer.text
        [skipped] = imported.json()["skipped"]
        assert skipped["path"] == "m.json"
        assert "'missing.json' not found in __files" in skipped["why"]
        [failed] = broken.json()["failed"]
        assert failed["path"] == "test-1.yaml"
        assert failed["where"] == "document 0, line 5"
        [id] = imported.json()["ids"]
        stored = (await c.get(f"/__virt/interactions/{id}")).json()
        assert (stored["source"], stored["session"]) == ("m.json", "import:m.json")

    run(tmp_path / "a.db", body)


def test_an_upload_that_skips_many_entries_gets_a_bounded_report(tmp_path: Path) -> None:
    har = {"log": {"version": "1.2", "entries": [{}] * 1000}}

    async def body(c: Client) -> None:
        answer = await c.post(
            "/__virt/import",
            params={"filename": "wide.har"},
            content=json.dumps(har).encode(),
            headers=BINARY,
        )
        assert answer.status_code == 200, answer.text
        report = answer.json()
        assert len(report["skipped"]) == transfer.SHOWN_PER_FILE
        assert report["skipped_count"] == 1000
        assert report["skipped_reasons"] == {"no response": 1000}

    run(tmp_path / "a.db", body)
