"""Record mode starts each database afresh once per run, keeping the old one as DB.bak."""

from __future__ import annotations

import hashlib
import os
import tempfile
import uuid
from pathlib import Path

SIDE_FILES = ("-wal", "-shm", "-journal")
"""SQLite's files beside a database: they move with it, or the copy would lose its last writes."""


def run_id() -> str:
    """Names this test run, the same in every pytest-xdist worker of it."""
    return os.environ.get("PYTEST_XDIST_TESTRUNUID") or f"{os.getpid()}-{uuid.uuid4().hex}"


def set_aside(db: Path, run: str) -> Path | None:
    """Move `db` to DB.bak the first time this run records into it; where it went, or None.

    Recording appends, and replay answers a request recorded twice with the older answer
    first: re-recording into the old file would replay what the service used to say. The
    first worker of a run to record into `db` moves it aside (callers hold the database's
    lock); the others, and later modules sharing it, find this run's mark and keep what is
    there. The secret key (DB.key) stays, so placeholders keep their values.
    """
    digest = hashlib.sha256(str(db).encode()).hexdigest()[:16]
    mark = Path(tempfile.gettempdir()) / f"virt-pytest-{digest}.run"
    try:
        if mark.read_text(encoding="utf-8") == run:
            return None
    except OSError:
        pass
    moved = None
    if db.exists():
        moved = db.with_name(db.name + ".bak")
        db.replace(moved)
        for side in SIDE_FILES:
            old = db.with_name(db.name + side)
            if old.exists():
                old.replace(moved.with_name(moved.name + side))
            else:
                moved.with_name(moved.name + side).unlink(missing_ok=True)
    mark.write_text(run, encoding="utf-8")
    return moved
