"""Editing, tagging and finding interactions: what the admin API stands on."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
import sqlite_utils

from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import SCHEMA_VERSION, Filter, Store, tables


def make(
    path: str,
    *,
    host: str = "api.example.com",
    method: str = "GET",
    status: int = 200,
    body: bytes = b"",
    session: str = "s",
    recorded_at: str = "2026-01-01T00:00:00.000Z",
) -> Interaction:
    request = Request(method, "https", host, 443, path)
    return Interaction(
        request, Response(status, body=body), session=session, recorded_at=recorded_at
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    s = Store.open(tmp_path / "q.db")
    rows = [
        make("/users/1", body=b'{"name": "Ada Lovelace"}'),
        make("/users/2", body=b'{"name": "Grace Hopper"}', recorded_at="2026-02-01T00:00:00.000Z"),
        make("/orders/9", method="POST", status=201, body=b'{"total": 12}'),
        make("/health", host="status.example.com", status=503, session="other"),
    ]
    s.insert_many([(i, exact_key(i.request)) for i in rows])
    return s


def ids(found: list[Interaction]) -> list[int | None]:
    return [i.id for i in found]


def test_find_filters_by_each_field(store: Store) -> None:
    assert ids(store.find(Filter(host="STATUS.example.com"))) == [4]
    assert ids(store.find(Filter(method="post"))) == [3]
    assert ids(store.find(Filter(path="/users/*"))) == [1, 2]
    assert ids(store.find(Filter(status=503))) == [4]
    assert ids(store.find(Filter(session="other"))) == [4]
    assert ids(store.find(Filter(since="2026-01-15"))) == [2]
    assert ids(store.find(Filter(until="2026-01-15"))) == [1, 3, 4]


def test_full_text_search_covers_urls_and_bodies(store: Store) -> None:
    assert ids(store.find(Filter(q="Hopper"))) == [2]
    assert ids(store.find(Filter(q="orders"))) == [3]
    assert ids(store.find(Filter(q="status.example.com"))) == [4]
    # FTS5 operators and quotes in user text are searched as words, never a syntax error
    assert ids(store.find(Filter(q='"Ada" AND NOT (x'))) == []


def test_pages_follow_the_cursor_without_overlap(store: Store) -> None:
    first = store.find(Filter(), limit=3)
    rest = store.find(Filter(), after=first[-1].id, limit=3)
    assert ids(first) + ids(rest) == [1, 2, 3, 4]


def test_tags_are_set_found_and_replaced(store: Store) -> None:
    store.set_tags(1, ["smoke", "users"])
    store.set_tags(2, ["users"])
    assert ids(store.find(Filter(tag="users"))) == [1, 2]
    assert store.tags([1, 2, 3]) == {1: ["smoke", "users"], 2: ["users"]}
    store.set_tags(1, [])
    assert store.tags([1]) == {}


def test_update_replaces_the_exchange_and_keeps_its_place(store: Store) -> None:
    before = store.get(2)
    assert before is not None
    edited = make("/users/2", status=404, body=b"gone", session="ignored")
    after = store.update(2, edited, exact_key(edited.request))
    assert after is not None
    assert (after.response.status, after.response.body) == (404, b"gone")
    assert (after.session, after.seq) == (before.session, before.seq)
    assert ids(store.find(Filter(q="gone"))) == [2]
    assert ids(store.find(Filter(q="Hopper"))) == []
    assert store.update(99, edited, "k") is None


def test_delete_removes_the_row_its_tags_and_its_search_entry(store: Store) -> None:
    store.set_tags(1, ["x"])
    assert store.delete(1) is True
    assert store.get(1) is None
    assert store.tags([1]) == {}
    assert ids(store.find(Filter(q="Lovelace"))) == []
    assert store.delete(1) is False


def test_route_counts_group_by_host_method_and_path(store: Store) -> None:
    counts = store.route_counts()
    assert ("api.example.com", "GET", "/users/1", 1) in counts
    assert len(counts) == 4


def test_a_schema_1_database_is_migrated_and_its_rows_become_searchable(tmp_path: Path) -> None:
    db = tmp_path / "v1.db"
    conn = sqlite3.connect(db)
    tables.create(sqlite_utils.Database(conn))  # schema 1, as virt 0.1 wrote it
    old = make("/legacy", body=b"ancient words")
    v1 = [c for c in tables.V1_COLUMNS if c != "id"]
    row = tables.to_row(old, exact_key(old.request), 1)[: len(v1)]  # canonical_key came later
    conn.execute(
        f"INSERT INTO interactions ({', '.join(v1)}) VALUES ({', '.join('?' for _ in v1)})", row
    )
    conn.commit()
    conn.close()
    store = Store.open(db)
    assert store.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert ids(store.find(Filter(q="ancient"))) == [1]
    assert store.get(1) is not None


def test_canonical_and_route_keys_are_stored_and_found(tmp_path: Path) -> None:
    from virt.model import Keys

    store = Store.open(tmp_path / "c.db")
    i = make("/c")
    store.insert(i, Keys(exact_key(i.request), "canon", "route"))
    store.insert(make("/d"), exact_key(make("/d").request))  # the exact key alone
    assert store.canonical_ids("canon") == [1]
    assert [id for id, _ in store.group("route", 10)] == [1]
    assert [(id, r.path) for id, r in store.without_keys()] == [(2, "/d")]
    store.set_keys([(2, Keys("exact", "other", "route"))])
    assert store.without_keys() == []
    assert store.canonical_ids("other") == [2]
    assert store.exact_ids("exact") == [2]  # keys computed afresh replace the old exact key
    d = make("/d").request
    assert [id for id, _ in store.group("route", 10, near=d)] == [2, 1]  # its path first
    assert [id for id, _ in store.group("route", 1, near=d)] == [2]


def test_a_search_for_a_word_in_every_recording_reads_one_page_not_every_match(
    tmp_path: Path,
) -> None:
    s = Store.open(tmp_path / "many.db")
    rows = [make(f"/items/{n}", body=b'{"note": "common"}') for n in range(20_000)]
    s.insert_many([(i, exact_key(i.request)) for i in rows])
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    s.db.conn.set_progress_handler(count, 1000)
    first = s.find(Filter(q="common"), limit=51)
    later = s.find(Filter(q="common", method="GET"), after=19_000, limit=51)
    s.db.conn.set_progress_handler(None, 0)
    assert ids(first) == list(range(1, 52))
    assert ids(later) == list(range(19_001, 19_052))
    # reading 20,000 matches costs hundreds of thousands of virtual machine steps; two pages
    # of 51 a few thousand
    assert steps < 40, f"{steps * 1000} steps"
