"""A recorded path matches whatever percent-encoding the client sends it in, at the real doors."""

from __future__ import annotations

import http.client
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
import sqlite_utils

from tests.conftest import Virt
from tests.formats.corpus import require_corpus
from tests.helpers import VIRT, clean_env
from virt.store import tables

CASSETTE = "vcr/praw-dev__praw/tests/integration/cassettes/TestEmoji.test_delete.json"
RECORDED = "/api/v1/<TEST_SUBREDDIT>/emoji/test_png?raw_json=1"


def _delete(port: int, target: str) -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    # http.client sends the target as given: no client-side re-encoding
    conn.request("DELETE", target, headers={"Host": "oauth.reddit.com"})
    return conn.getresponse()


def _import(tmp_path: Path) -> Path:
    cassette = tmp_path / "TestEmoji.test_delete.json"
    shutil.copy(require_corpus() / CASSETTE, cassette)
    db = tmp_path / "praw.db"
    done = subprocess.run(
        [*VIRT, "import", "--db", str(db), str(cassette)],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr.decode()
    return db


@pytest.mark.parametrize(
    "target",
    [
        RECORDED,
        "/api/v1/%3CTEST_SUBREDDIT%3E/emoji/test_png?raw_json=1",
        "/api/v1/%3cTEST_SUBREDDIT%3e/emoji/%74est_png?raw_json=%31",
    ],
)
def test_an_imported_praw_path_matches_exactly_in_any_percent_encoding(
    virt: Virt, tmp_path: Path, target: str
) -> None:
    db = _import(tmp_path)
    (stored,) = (
        sqlite3.connect(db)
        .execute("SELECT path FROM interactions WHERE method = 'DELETE'")
        .fetchone()
    )
    assert stored == RECORDED.split("?")[0]  # the path is kept as it was recorded
    _, port, _ = virt.serve(db)
    r = _delete(port, target)
    assert r.status == 200
    assert r.getheader("x-virt-match") == "exact"


def _as_schema_4(source: Path, target: Path) -> None:
    """A schema 4 database holding the rows of `source`, keyed the way virt before schema 5
    keyed them (here: keys that no current request has)."""
    db = sqlite_utils.Database(target)
    tables.create(db)
    for version in (1, 2, 3):
        tables.MIGRATIONS[version](db)
    db.execute("PRAGMA user_version = 4")
    columns = [*tables.V1_COLUMNS, "canonical_key", "route_key"]
    with sqlite3.connect(source) as conn:
        rows = conn.execute(f"SELECT {', '.join(columns)} FROM interactions").fetchall()
    conn.close()
    marks = ", ".join("?" for _ in columns)
    with db.conn:
        db.conn.executemany(
            f"INSERT INTO interactions ({', '.join(columns)}) VALUES ({marks})", rows
        )
        db.execute("UPDATE interactions SET exact_key = 'old', canonical_key = 'old'")
    db.close()


def test_a_schema_4_database_gets_keys_that_ignore_percent_encoding(
    virt: Virt, tmp_path: Path
) -> None:
    old = tmp_path / "old.db"
    _as_schema_4(_import(tmp_path), old)
    _, port, _ = virt.serve(old)
    r = _delete(port, "/api/v1/%3CTEST_SUBREDDIT%3E/emoji/test_png?raw_json=1")
    assert r.status == 200
    assert r.getheader("x-virt-match") == "exact"
