"""Stored API descriptions: the documents table of a real SQLite file, and its migration."""

from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path

from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import SCHEMA_VERSION, Store

SPEC = b"openapi: 3.1.0\ninfo: {title: Pets, version: '1'}\npaths: {}\n"


def test_a_stored_document_reads_back_as_the_bytes_given(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "rec.db")
    try:
        first = store.add_document("openapi", "pets.yaml", SPEC)
        second = store.add_document("openapi", "other.json", b'{"openapi": "3.0.3"}')
        assert first != second
        assert store.documents("openapi") == [
            ("pets.yaml", SPEC),
            ("other.json", b'{"openapi": "3.0.3"}'),
        ]
        assert store.documents("graphql") == []
        digest = store.db.execute("SELECT sha256 FROM documents WHERE id = ?", [first]).fetchone()
        assert digest[0] == hashlib.sha256(SPEC).hexdigest()
    finally:
        store.close()


def test_importing_the_same_document_twice_keeps_one_row(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "rec.db")
    try:
        first = store.add_document("openapi", "pets.yaml", SPEC)
        assert store.add_document("openapi", "pets.yaml", SPEC) == first
        changed = store.add_document("openapi", "pets.yaml", SPEC + b"# v2\n")
        assert changed != first  # an edited document is another version, kept beside
        assert [name for name, _ in store.documents("openapi")] == ["pets.yaml", "pets.yaml"]
    finally:
        store.close()


def _as_schema_6(path: Path) -> None:
    conn = sqlite3.connect(path)
    conn.execute("DROP TABLE documents")
    conn.execute("PRAGMA user_version = 6")
    conn.commit()
    conn.close()


def test_a_schema_6_file_gains_the_documents_table_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "rec.db"
    store = Store.open(path)
    i = Interaction(Request("GET", "https", "api.example.com", 443, "/kept"), Response(200))
    written = store.insert(i, exact_key(i.request))
    store.close()
    _as_schema_6(path)

    store = Store.open(path)
    try:
        assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 7
        assert store.get(written.id or 0) == written
        assert store.documents("openapi") == []
        store.add_document("openapi", "pets.yaml", SPEC)
        assert store.documents("openapi") == [("pets.yaml", SPEC)]
    finally:
        store.close()


def test_a_schema_6_file_open_read_only_has_no_documents(tmp_path: Path) -> None:
    path = tmp_path / "rec.db"
    Store.open(path).close()
    _as_schema_6(path)
    store = Store.open(path, readonly=True)
    try:
        assert store.documents("openapi") == []
    finally:
        store.close()
