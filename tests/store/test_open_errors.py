"""Store.open refuses what it cannot use, by name, and leaves what it refused exactly as it was."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.mounts import read_only_dir
from virt.errors import NotADatabase, SchemaTooNew, StoreError, StoreReadOnly
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import SCHEMA_VERSION, Store


def snapshot(folder: Path) -> dict[str, bytes | None]:
    """Every entry under `folder` with its bytes (None for folders): what "untouched" means."""
    return {
        str(p.relative_to(folder)): p.read_bytes() if p.is_file() else None
        for p in sorted(folder.rglob("*"))
    }


def refuse(
    path: Path, error: type[StoreError], *, readonly: bool = False, create: bool = True
) -> StoreError:
    """Open `path`, expect exactly `error`, and check that nothing in its folder changed."""
    folder = path.parent
    before = snapshot(folder)
    with pytest.raises(StoreError) as caught:
        Store.open(path, readonly=readonly, create=create)
    assert type(caught.value) is error, f"{type(caught.value).__name__}: {caught.value}"
    assert str(path) in str(caught.value)
    assert caught.value.hint, "every refusal says what to do"
    after = snapshot(folder)
    if readonly:
        # A read-only SQLite connection to a WAL-mode file makes the -shm index readers share
        # and cannot delete it (nor an empty -wal) on close; SQLite's doing, and no content.
        assert after.pop(path.name + "-wal", b"") == b""
        after.pop(path.name + "-shm", None)
    assert after == before
    return caught.value


def make_virt_db(path: Path, rows: int = 3) -> None:
    store = Store.open(path)
    for n in range(rows):
        request = Request("GET", "https", "api.example.com", 443, f"/items/{n}")
        store.insert(Interaction(request, Response(200, body=b"x" * 3000)), exact_key(request))
    store.close()


def make_sqlite_db(path: Path, *statements: str) -> None:
    conn = sqlite3.connect(path)
    for sql in statements:
        conn.execute(sql)
    conn.commit()
    conn.close()


both_modes = pytest.mark.parametrize("readonly", [False, True], ids=["read-write", "read-only"])


@both_modes
def test_a_directory_is_not_a_database(tmp_path: Path, readonly: bool) -> None:
    folder = tmp_path / "recordings"
    folder.mkdir()
    (folder / "keep.txt").write_text("mine")
    error = refuse(folder, NotADatabase, readonly=readonly)
    assert "is a directory" in str(error)
    assert (folder / "keep.txt").read_text() == "mine"


@both_modes
def test_a_text_file_is_not_a_database(tmp_path: Path, readonly: bool) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database\n" * 50)
    error = refuse(path, NotADatabase, readonly=readonly)
    assert "is not an SQLite database" in str(error)


@both_modes
def test_an_sqlite_database_of_someone_else_is_refused_untouched(
    tmp_path: Path, readonly: bool
) -> None:
    path = tmp_path / "app.db"
    make_sqlite_db(
        path,
        "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)",
        "INSERT INTO users (name) VALUES ('ada')",
    )
    error = refuse(path, NotADatabase, readonly=readonly)
    assert "not a virt recording" in str(error)
    assert "users" in str(error)


@both_modes
def test_a_database_from_a_newer_virt_names_both_schema_versions(
    tmp_path: Path, readonly: bool
) -> None:
    path = tmp_path / "future.db"
    make_sqlite_db(
        path,
        "CREATE TABLE interactions (id INTEGER PRIMARY KEY, shape_from_the_future TEXT)",
        f"PRAGMA user_version = {SCHEMA_VERSION + 1}",
    )
    error = refuse(path, SchemaTooNew, readonly=readonly)
    assert f"schema {SCHEMA_VERSION + 1}" in str(error)
    assert f"reads up to {SCHEMA_VERSION}" in str(error)
    assert "upgrade" in error.hint


@both_modes
@pytest.mark.parametrize(
    "damage",
    [
        pytest.param(lambda b: b[:100] + b"\xde\xad\xbe\xef" * ((len(b) - 100) // 4), id="garbage"),
        pytest.param(lambda b: b[:60], id="cut-in-header"),
        pytest.param(lambda b: b[:4096] + b"\x00" * 10, id="cut-after-first-page"),
    ],
)
def test_a_damaged_virt_database_is_refused_untouched(
    tmp_path: Path, readonly: bool, damage: Callable[[bytes], bytes]
) -> None:
    good = tmp_path / "good" / "rec.db"
    make_virt_db(good)
    path = tmp_path / "damaged" / "rec.db"
    path.parent.mkdir()
    path.write_bytes(damage(good.read_bytes()))
    error = refuse(path, NotADatabase, readonly=readonly)
    assert "damaged or not an SQLite database" in str(error)


def test_a_missing_file_is_refused_when_creating_is_off(tmp_path: Path) -> None:
    error = refuse(tmp_path / "missing.db", StoreError, create=False)
    assert "does not exist" in str(error)


def test_a_missing_file_is_not_created_when_opening_read_only(tmp_path: Path) -> None:
    error = refuse(tmp_path / "missing.db", StoreError, readonly=True)
    assert "does not exist" in str(error)


def test_a_new_database_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "ro") as ro:
        error = refuse(ro / "rec.db", StoreReadOnly)
    assert "cannot write" in str(error)


def test_a_new_folder_in_a_read_only_folder_is_refused(tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "ro") as ro:
        with pytest.raises(StoreReadOnly) as caught:
            Store.open(ro / "sub" / "rec.db")
        assert not (ro / "sub").exists()
    assert f"cannot create folder {ro / 'sub'}" in str(caught.value)


def test_a_virt_database_on_a_read_only_mount_refuses_writing_untouched(tmp_path: Path) -> None:
    with read_only_dir(tmp_path / "ro", lambda d: make_virt_db(d / "rec.db")) as ro:
        refuse(ro / "rec.db", StoreReadOnly)


def test_a_virt_database_on_a_read_only_mount_can_still_be_read(tmp_path: Path) -> None:
    # what `virt serve` does with recordings baked into a read-only volume
    with read_only_dir(tmp_path / "ro", lambda d: make_virt_db(d / "rec.db", rows=3)) as ro:
        before = snapshot(ro)
        store = Store.open(ro / "rec.db", readonly=True)
        try:
            assert store.count() == 3
            assert [o.url for o in store.origins()] == ["https://api.example.com"]
            with pytest.raises(StoreReadOnly):
                request = Request("GET", "https", "api.example.com", 443, "/new")
                store.insert(Interaction(request, Response(200)), exact_key(request))
        finally:
            store.close()
        assert snapshot(ro) == before


def test_read_only_open_handles_uri_characters_in_the_path(tmp_path: Path) -> None:
    # read-only opens go through an SQLite URI, where ? and # and % mean something
    path = tmp_path / "odd ?name#1 %41.db"
    make_virt_db(path, rows=2)
    store = Store.open(path, readonly=True)
    try:
        assert store.count() == 2
    finally:
        store.close()
    assert not (tmp_path / "odd ").exists()
