"""POST /__virt/import with an OpenAPI document: stored and reported, or refused by pointer."""

from __future__ import annotations

from pathlib import Path

from tests.admin.test_api import BINARY, Client, run
from virt.store import Store

PETSTORE = Path(__file__).parents[1] / "data" / "petstore-3.0.yaml"


def test_an_uploaded_openapi_document_is_validated_and_stored(tmp_path: Path) -> None:
    db = tmp_path / "a.db"

    async def body(c: Client) -> None:
        good = await c.post(
            "/__virt/import",
            params={"filename": "petstore.yaml"},
            content=PETSTORE.read_bytes(),
            headers=BINARY,
        )
        assert good.status_code == 200, good.text
        report = good.json()
        assert report["documents"] == ["stored OpenAPI document Petstore 2.1.0: 7 operations"]
        assert (report["files"], report["imported"], report["failed"]) == (1, 0, [])
        bad = await c.post(
            "/__virt/import",
            params={"filename": "bad.json"},
            content=b'{"openapi": "3.1.0", "info": {"version": "1"}, "paths": {}}',
            headers=BINARY,
        )
        assert bad.status_code == 200
        failed = bad.json()["failed"]
        assert failed[0]["path"] == "bad.json"  # never the temporary copy's path
        assert failed[0]["why"].startswith("not a valid OpenAPI document: at /info: ")
        assert "(rule: required)" in failed[0]["why"] and str(tmp_path) not in failed[0]["why"]
        assert bad.json()["documents"] == []

    run(db, body)
    store = Store.open(db, readonly=True)
    try:
        assert store.documents("openapi") == [("petstore.yaml", PETSTORE.read_bytes())]
    finally:
        store.close()
