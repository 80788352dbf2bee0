"""The database file: checked before SQLite opens it, connected, its errors made StoreErrors."""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path
from urllib.parse import quote

from virt.errors import NotADatabase, StoreError, StoreReadOnly

_SQLITE_MAGIC = b"SQLite format 3\0"
READ_ONLY_HINT = "record into a writable folder, or fix the file's permissions"


def connect(path: Path, readonly: bool, immutable: bool = False) -> sqlite3.Connection:
    """A connection to `path`; a read-only one never creates the file, and reads a WAL database
    on a read-only volume as immutable. `immutable` promises that nothing writes the file while
    it is open (replicas sharing one recordings file): SQLite then takes no locks at all."""
    if not readonly:
        return sqlite3.connect(path, timeout=30)
    uri = f"file:{quote(str(path.absolute()))}?mode=ro"  # ?, # and % in a name are not URI syntax
    wal = path.with_name(path.name + "-wal")
    if immutable and not (wal.exists() and wal.stat().st_size > 0):
        # (with changes still in a -wal file, immutable would not see them: read it normally)
        return sqlite3.connect(uri + "&immutable=1", uri=True)
    conn = sqlite3.connect(uri, uri=True)
    try:
        conn.execute("PRAGMA user_version")
    except sqlite3.DatabaseError as e:
        conn.close()
        if not isinstance(e, sqlite3.OperationalError) or os.access(path.parent, os.W_OK):
            raise
        # A WAL database on a read-only volume: SQLite cannot create the -shm file that readers
        # share, and nothing can write the file there, so it is safe to read it as immutable.
        return sqlite3.connect(uri + "&immutable=1", uri=True)
    return conn


def check_file(path: Path, *, create: bool) -> None:
    """Refuse, before SQLite touches it, a path that is not a database file virt may open;
    create it (mode 0600, and its folder) when missing and `create`."""
    if path.is_dir():
        raise NotADatabase(
            f"{path} is a directory", hint="pass a database file, such as recordings/api.db"
        )
    if path.exists():
        try:
            with path.open("rb") as f:
                head = f.read(len(_SQLITE_MAGIC))
        except OSError as e:
            raise StoreError(f"cannot read {path}: {e.strerror}", hint=READ_ONLY_HINT) from e
        if head and head != _SQLITE_MAGIC:
            raise NotADatabase(
                f"{path} is not an SQLite database",
                hint="pass a new file name, or a database virt wrote; virt left this one untouched",
            )
        return
    if not create:
        raise StoreError(f"{path} does not exist", hint="record into it first with virt record")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise StoreReadOnly(
            f"cannot create folder {path.parent}: {e.strerror}", hint=READ_ONLY_HINT
        ) from e
    _create_private(path)


def _create_private(path: Path) -> None:
    """Create `path` empty with mode 0600: recordings hold personal data even when redacted.
    SQLite gives the -wal, -shm and -journal files it makes the database file's mode."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        pass  # made meanwhile by another process: its mode stands
    except OSError as e:
        raise StoreReadOnly(f"cannot write to {path}: {e.strerror}", hint=READ_ONLY_HINT) from e


def translate(e: sqlite3.DatabaseError, path: Path) -> StoreError:
    """The StoreError that names what SQLite's error means for `path`, with what to do."""
    msg = str(e)
    if "readonly" in msg or "read-only" in msg or "unable to open" in msg:
        return StoreReadOnly(f"cannot write to {path}: {msg}", hint=READ_ONLY_HINT)
    if "not a database" in msg or "malformed" in msg or "corrupt" in msg:
        return NotADatabase(
            f"{path} is damaged or not an SQLite database: {msg}",
            hint="restore it from a copy, or record into a new file; virt left this one untouched",
        )
    if "disk is full" in msg or "disk I/O" in msg:
        return StoreError(f"cannot write to {path}: {msg}", hint="free some disk space")
    return StoreError(f"{path}: {msg}")
