"""Store: a real SQLite file that gives back exactly what was written, and answers lookups."""

from __future__ import annotations

import os
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from virt.model import Interaction, Request, Response, Timings
from virt.normalize import exact_key
from virt.store import SCHEMA_VERSION, Origin, Store, Summary, browse


def interaction(
    method: str = "GET",
    host: str = "api.example.com",
    path: str = "/",
    *,
    scheme: str = "https",
    port: int = 443,
    query: str = "",
    session: str = "default",
    status: int = 200,
    body: bytes = b"",
) -> Interaction:
    return Interaction(
        request=Request(method, scheme, host, port, path, query, body=body),
        response=Response(status, body=b"ok"),
        session=session,
    )


def add(store: Store, i: Interaction) -> Interaction:
    return store.insert(i, exact_key(i.request))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def test_open_creates_the_file_and_missing_parent_folders(tmp_path: Path) -> None:
    path = tmp_path / "a" / "b" / "rec.db"
    Store.open(path).close()
    assert path.is_file()
    assert path.read_bytes()[:16] == b"SQLite format 3\0"


def test_open_turns_on_wal_and_stamps_the_schema_version(tmp_path: Path) -> None:
    path = tmp_path / "rec.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    finally:
        conn.close()


def test_reopening_a_virt_database_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "rec.db"
    s = Store.open(path)
    written = add(s, interaction(path="/kept"))
    s.close()
    s = Store.open(path)
    try:
        assert s.count() == 1
        assert s.get(written.id or 0) == written
    finally:
        s.close()


def test_insert_then_get_round_trips_every_field(store: Store) -> None:
    original = Interaction(
        request=Request(
            method="PATCH",
            scheme="http",
            host="svc.internal",
            port=8081,
            path="/v1/items/\u00e9t\u00e9",
            query="b=2&a=1&a=0",
            headers=(
                ("Host", "svc.internal:8081"),
                ("X-Mixed-CASE", "one"),
                ("accept", "*/*"),
                ("X-Mixed-CASE", "two"),
                ("X-Latin1", "caf\u00e9 \u00ff\u00a0"),
            ),
            body=bytes(range(256)) + b"\x00\xff\x00",
            encoding="gzip",
            http_version="HTTP/2.0",
        ),
        response=Response(
            status=207,
            reason="Multi-Status",
            headers=(
                ("Set-Cookie", "a=1"),
                ("content-type", "application/octet-stream"),
                ("Set-Cookie", "b=2"),
                ("X-Latin1", "\u00e0\u00fe"),
            ),
            body=b"\x89PNG\r\n\x1a\n\x00\x00",
            encoding="br",
            wire_body=b"\x1b\x02\x00\xf8",
            http_version="HTTP/1.0",
        ),
        session="checkout-flow",
        recorded_at="2026-11-25T12:00:00.123Z",
        timings=Timings(1764072000.123456, 1764072000.2, 1764072000.31, 1764072000.4999),
        source="har:fixtures/one.har",
        source_format="har",
    )
    written = add(store, original)
    assert written.id is not None
    got = store.get(written.id)
    assert got is not None
    assert got.id == written.id
    assert got == replace(original, seq=written.seq)
    # dataclass equality is the whole claim; spell out the parts that are easiest to lose
    assert got.request.headers == original.request.headers
    assert got.response.headers == original.response.headers
    assert got.request.body == original.request.body
    assert got.response.wire_body == original.response.wire_body
    assert got.timings == original.timings


def test_optional_fields_come_back_as_none(store: Store) -> None:
    original = interaction()
    got = store.get(add(store, original).id or 0)
    assert got is not None
    assert got.timings is None
    assert got.source is None and got.source_format is None
    assert got.response.wire_body is None and got.response.encoding is None
    assert got == replace(original, seq=got.seq)


def test_get_unknown_id_is_none(store: Store) -> None:
    add(store, interaction())
    assert store.get(999) is None


latin1_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=40)


# no deadline: a slow disk must not fail a test about what is stored
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    request_body=st.binary(max_size=2048),
    response_body=st.binary(max_size=2048),
    headers=st.lists(st.tuples(st.sampled_from(["A", "a", "X-Y", "x-y"]), latin1_text), max_size=6),
    path=st.text(min_size=1, max_size=30).map(lambda s: "/" + s),
)
def test_store_round_trips_any_bytes_and_headers(
    store: Store,
    request_body: bytes,
    response_body: bytes,
    headers: list[tuple[str, str]],
    path: str,
) -> None:
    # one store for every example: each reads back its own row by id
    original = Interaction(
        request=Request("POST", "http", "h", 80, path, headers=tuple(headers), body=request_body),
        response=Response(200, headers=tuple(headers), body=response_body),
    )
    written = add(store, original)
    assert store.get(written.id or 0) == replace(original, seq=written.seq)


def test_seq_counts_up_per_session_independently(store: Store) -> None:
    sessions = ["a", "b", "a", "a", "b", "c"]
    seqs = [add(store, interaction(session=s, path=f"/{n}")).seq for n, s in enumerate(sessions)]
    assert seqs == [1, 1, 2, 3, 2, 1]


def test_seq_continues_within_one_batch_and_after_reopening(tmp_path: Path) -> None:
    path = tmp_path / "rec.db"
    s = Store.open(path)
    batch = [interaction(session="s", path=f"/{n}") for n in range(3)]
    assert [seq for _, seq in s.insert_many([(i, exact_key(i.request)) for i in batch])] == [
        1,
        2,
        3,
    ]
    s.close()
    s = Store.open(path)
    try:
        assert add(s, interaction(session="s")).seq == 4
        assert add(s, interaction(session="other")).seq == 1
    finally:
        s.close()


def test_exact_ids_lists_a_key_in_recorded_order(store: Store) -> None:
    polled = interaction(path="/job/1")
    other = interaction(path="/job/2")
    ids = [add(store, i).id for i in (polled, other, polled, other, polled)]
    assert store.exact_ids(exact_key(polled.request)) == [ids[0], ids[2], ids[4]]
    assert store.exact_ids(exact_key(other.request)) == [ids[1], ids[3]]
    assert store.exact_ids("0" * 32) == []


def test_origins_are_distinct_and_sorted(store: Store) -> None:
    for scheme, host, port in [
        ("https", "b.example", 443),
        ("http", "a.example", 8080),
        ("https", "b.example", 443),
        ("http", "a.example", 80),
        ("https", "a.example", 443),
    ]:
        add(store, interaction(scheme=scheme, host=host, port=port))
    assert store.origins() == [
        Origin("http", "a.example", 80),
        Origin("http", "a.example", 8080),
        Origin("https", "a.example", 443),
        Origin("https", "b.example", 443),
    ]


def test_origins_of_an_empty_store_is_empty(store: Store) -> None:
    assert store.origins() == []


def test_origins_are_listed_alike_from_a_file_without_the_origin_index(store: Store) -> None:
    for scheme, host, port in [("https", "b.example", 443), ("http", "a.example", 80)]:
        add(store, interaction(scheme=scheme, host=host, port=port))
    with_index = store.origins()
    store.db.execute("DROP INDEX interactions_origin")  # as a read-only file from before it
    assert (
        store.origins()
        == with_index
        == [
            Origin("http", "a.example", 80),
            Origin("https", "b.example", 443),
        ]
    )


def test_nearest_ranks_same_host_and_path_first_then_same_method(store: Store) -> None:
    other_path = add(store, interaction("GET", "h.example", "/other")).id
    other_method = add(store, interaction("POST", "h.example", "/p", status=201)).id
    add(store, interaction("GET", "elsewhere.example", "/p"))
    add(store, interaction("DELETE", "h.example", "/unrelated"))
    same = add(store, interaction("GET", "h.example", "/p", query="x=1", port=8443)).id
    assert same is not None and other_method is not None and other_path is not None

    assert store.nearest("GET", "h.example", "/p") == [
        Summary(same, "GET", "https://h.example:8443/p?x=1", 200),
        Summary(other_method, "POST", "https://h.example/p", 201),
        Summary(other_path, "GET", "https://h.example/other", 200),
    ]


def test_nearest_finds_the_same_method_on_a_path_crowded_with_others(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    # more recordings of other methods on the path than a scan looks at: the same method is
    # found by its own seek of the route index, not among the first rows of the path
    monkeypatch.setattr(browse, "NEAREST_SCAN", 3)
    for _ in range(4):
        add(store, interaction("DELETE", "h.example", "/p"))
    post = add(store, interaction("POST", "h.example", "/p", status=201)).id
    assert [s.id for s in store.nearest("POST", "h.example", "/p", limit=1)] == [post]


def test_nearest_respects_the_limit(store: Store) -> None:
    ids = [add(store, interaction("GET", "h.example", f"/{n}")).id for n in range(6)]
    ids += [add(store, interaction("GET", "h.example", "/p")).id for _ in range(3)]
    assert [s.id for s in store.nearest("GET", "h.example", "/p", limit=2)] == ids[6:8]
    assert [s.id for s in store.nearest("GET", "h.example", "/p", limit=4)] == [*ids[6:9], ids[0]]
    assert len(store.nearest("GET", "h.example", "/nothing", limit=5)) == 5


def test_nearest_ignores_other_hosts(store: Store) -> None:
    add(store, interaction("GET", "a.example", "/p"))
    assert store.nearest("GET", "b.example", "/p") == []


def test_nearest_for_a_non_utf8_path_falls_back_to_same_host_and_method(store: Store) -> None:
    # the doors decode raw paths with surrogateescape; such a path cannot be a query parameter
    same_method = add(store, interaction("GET", "h.example", "/caf")).id
    add(store, interaction("POST", "h.example", "/caf"))
    assert [s.id for s in store.nearest("GET", "h.example", "/caf\udce9")] == [same_method]


def test_a_new_database_and_its_wal_files_are_private(tmp_path: Path) -> None:
    db = tmp_path / "new" / "api.db"
    store = Store.open(db)
    try:
        store.insert(interaction(), "k")
        files = [db, db.with_name("api.db-wal"), db.with_name("api.db-shm")]
        modes = {p.name: stat.S_IMODE(os.stat(p).st_mode) for p in files}
    finally:
        store.close()
    assert modes == {"api.db": 0o600, "api.db-wal": 0o600, "api.db-shm": 0o600}


def test_an_existing_database_keeps_its_mode(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    Store.open(db).close()
    db.chmod(0o640)
    Store.open(db).close()
    assert stat.S_IMODE(os.stat(db).st_mode) == 0o640
