"""Engine: recorded sequences for repeated requests, against a real Store."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from virt.match.engine import Engine, MatchKind
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import Origin, Store

JOB = Request("GET", "https", "api.example.com", 443, "/jobs/7")
OTHER = Request("GET", "https", "api.example.com", 443, "/jobs/8")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def record(store: Store, request: Request, body: bytes) -> int:
    written = store.insert(Interaction(request, Response(200, body=body)), exact_key(request))
    assert written.id is not None
    return written.id


def bodies(engine: Engine, request: Request, times: int) -> list[bytes]:
    out = []
    for _ in range(times):
        match = engine.match(request)
        assert match.kind is MatchKind.EXACT and match.interaction is not None
        out.append(match.interaction.response.body)
    return out


def test_repeated_requests_walk_the_recording_then_stay_on_the_last(store: Store) -> None:
    for body in (b"pending", b"running", b"done"):
        record(store, JOB, body)
    engine = Engine(store)
    assert bodies(engine, JOB, 6) == [b"pending", b"running", b"done", b"done", b"done", b"done"]


def test_a_match_names_the_interaction_and_its_position(store: Store) -> None:
    ids = [record(store, JOB, b) for b in (b"1", b"2")]
    engine = Engine(store)
    first, second, third = (engine.match(JOB) for _ in range(3))
    assert (first.interaction and first.interaction.id, first.position) == (ids[0], 0)
    assert (second.interaction and second.interaction.id, second.position) == (ids[1], 1)
    assert (third.interaction and third.interaction.id, third.position) == (ids[1], 1)
    assert first.key == exact_key(JOB)


def test_reset_starts_every_sequence_again(store: Store) -> None:
    for body in (b"pending", b"done"):
        record(store, JOB, body)
        record(store, OTHER, body)
    engine = Engine(store)
    assert bodies(engine, JOB, 3) == [b"pending", b"done", b"done"]
    assert bodies(engine, OTHER, 1) == [b"pending"]
    engine.reset()
    assert bodies(engine, JOB, 1) == [b"pending"]
    assert bodies(engine, OTHER, 1) == [b"pending"]


def test_different_requests_keep_their_own_cursors(store: Store) -> None:
    for n in range(3):
        record(store, JOB, b"job-%d" % n)
        record(store, OTHER, b"other-%d" % n)
    engine = Engine(store)
    assert bodies(engine, JOB, 2) == [b"job-0", b"job-1"]
    assert bodies(engine, OTHER, 1) == [b"other-0"]
    assert bodies(engine, JOB, 2) == [b"job-2", b"job-2"]
    assert bodies(engine, OTHER, 3) == [b"other-1", b"other-2", b"other-2"]


def test_query_order_reaches_the_same_sequence(store: Store) -> None:
    a = Request("GET", "http", "h", 80, "/s", "x=1&y=2")
    b = Request("GET", "http", "h", 80, "/s", "y=2&x=1")
    record(store, a, b"first")
    record(store, a, b"second")
    engine = Engine(store)
    assert bodies(engine, a, 1) + bodies(engine, b, 1) == [b"first", b"second"]


def test_an_unknown_request_is_a_miss_and_moves_no_cursor(store: Store) -> None:
    record(store, JOB, b"pending")
    record(store, JOB, b"done")
    engine = Engine(store)
    missing = Request("GET", "https", "api.example.com", 443, "/jobs/404")
    for _ in range(2):
        match = engine.match(missing)
        assert match.kind is MatchKind.MISS
        assert match.interaction is None
        assert match.key == exact_key(missing)
    assert bodies(engine, JOB, 1) == [b"pending"]


def test_recordings_written_after_the_engine_started_are_found(store: Store) -> None:
    engine = Engine(store)
    assert engine.match(JOB).kind is MatchKind.MISS
    record(store, JOB, b"late")
    assert bodies(engine, JOB, 1) == [b"late"]


def test_nearest_lists_recordings_of_the_same_host_and_path(store: Store) -> None:
    job = record(store, JOB, b"x")
    record(store, Request("GET", "https", "elsewhere.example", 443, "/jobs/7"), b"x")
    near = Engine(store).nearest(Request("POST", "https", "api.example.com", 443, "/jobs/7"))
    assert [s["id"] for s in near] == [job]
    assert near[0]["diff"] == {"method": {"sent": "POST", "recorded": "GET"}}


def test_origins_are_cached_until_a_new_one_is_recorded(store: Store) -> None:
    record(store, JOB, b"x")
    engine = Engine(store)
    assert engine.origins() == [Origin("https", "api.example.com", 443)]
    new = Request("GET", "http", "127.0.0.1", 8081, "/")
    written = store.insert(Interaction(new, Response(200)), exact_key(new))
    assert engine.origins() == [Origin("https", "api.example.com", 443)]  # cached
    engine.recorded(written)
    assert engine.origins() == [
        Origin("http", "127.0.0.1", 8081),
        Origin("https", "api.example.com", 443),
    ]


def test_a_drifted_request_matches_fuzzily_after_exact_fails(tmp_path: Path) -> None:
    from virt.model import Interaction, Request, Response
    from virt.normalize import keys

    store = Store.open(tmp_path / "fuzzy.db")
    headers = (("Content-Type", "application/json"),)
    recorded = Request(
        "POST", "https", "api.example.com", 443, "/jobs", "", headers, b'{"a":1,"b":2}'
    )
    store.insert(Interaction(recorded, Response(201, body=b"made")), keys(recorded))
    engine = Engine(store)
    drifted = Request(
        "POST", "https", "api.example.com", 443, "/jobs", "", headers, b'{"b": 2, "a": 1}'
    )
    match = engine.match(drifted)
    assert match.kind is MatchKind.FUZZY
    assert match.header_value == "fuzzy;score=1.00"
    assert match.interaction is not None and match.interaction.response.body == b"made"
    assert engine.match(recorded).kind is MatchKind.EXACT


def test_backfill_gives_old_rows_canonical_and_route_keys(tmp_path: Path) -> None:
    from virt.model import Interaction, Request, Response
    from virt.normalize import exact_key

    store = Store.open(tmp_path / "old.db")
    headers = (("Content-Type", "application/json"),)
    old = Request("POST", "https", "h", 443, "/x", "", headers, b'{"a":1,"b":2}')
    store.insert(Interaction(old, Response(200)), exact_key(old))  # as schema 2 wrote it
    engine = Engine(store)
    drifted = Request("POST", "https", "h", 443, "/x", "", headers, b'{"b":2,"a":1}')
    assert engine.match(drifted).kind is MatchKind.MISS
    assert engine.backfill() == 1
    assert engine.match(drifted).kind is MatchKind.FUZZY
    assert engine.backfill() == 0


def test_a_miss_lists_the_nearest_recordings_with_what_differs(tmp_path: Path) -> None:
    from virt.model import Interaction, Request, Response
    from virt.normalize import keys

    store = Store.open(tmp_path / "near.db")
    json_ct = (("Content-Type", "application/json"),)
    recorded = Request("POST", "https", "h", 443, "/orders", "page=1&sort=asc", json_ct, b'{"n":1}')
    store.insert(Interaction(recorded, Response(201)), keys(recorded))
    sent = Request("POST", "https", "h", 443, "/orders", "page=2&extra=x", json_ct, b'{"n":2}')
    engine = Engine(store)
    assert engine.match(sent).kind is MatchKind.MISS
    (near,) = engine.nearest(sent)
    assert near["id"] == 1
    assert set(near["diff"]) == {"query", "body"}
    assert near["diff"]["query"] == {
        "missing": ["sort"],
        "unexpected": ["extra"],
        "different": ["page"],
    }
    assert near["diff"]["body"]["same_when_canonical"] is False
    assert near["diff"]["body"]["recorded"] == '{"n":1}'


def test_a_near_miss_diff_lists_the_first_query_names_and_counts_the_rest(tmp_path: Path) -> None:
    from virt.model import Interaction, Request, Response
    from virt.normalize import keys

    store = Store.open(tmp_path / "wide.db")
    recorded_query = "&".join(f"r{i:03d}=1" for i in range(300))
    recorded = Request("GET", "https", "h", 443, "/search", recorded_query, (), b"")
    store.insert(Interaction(recorded, Response(200)), keys(recorded))
    sent_query = "&".join(f"s{i:03d}=1" for i in range(120))
    sent = Request("GET", "https", "h", 443, "/search", sent_query, (), b"")
    (near,) = Engine(store).nearest(sent)
    query = near["diff"]["query"]
    assert len(query["missing"]) == 50
    assert query["missing"][0] == "r000"
    assert (query["missing_total"], query["unexpected_total"]) == (300, 120)
    assert query["truncated"] is True
    assert "different_total" not in query
    assert near["comparison"]["truncated"] is True
    store.close()
