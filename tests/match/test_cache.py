"""Warming the engine's cache: recordings read ahead of the requests for them, in chunks, with
sequences kept whole, superseded recordings left out, and a change to the recordings meanwhile
stopping it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest

from virt.match import cache
from virt.match.engine import Engine, MatchKind
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import Store
from virt.store.reads import SUPERSEDED

POLL = Request("GET", "https", "api.example.com", 443, "/jobs/7")


def item(n: int) -> Request:
    return Request("GET", "https", "api.example.com", 443, f"/items/{n}")


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """300 items, and one polled job whose three answers lie in three different chunks."""
    path = tmp_path / "rec.db"
    store = Store.open(path)
    for n in range(300):
        if n in (5, 150, 290):
            answer = {5: b"pending", 150: b"running", 290: b"done"}[n]
            store.insert(Interaction(POLL, Response(200, body=answer)), exact_key(POLL))
        store.insert(Interaction(item(n), Response(200, body=b"item %d" % n)), exact_key(item(n)))
    store.close()
    yield path


def warmed(path: Path) -> Engine:
    engine = Engine(Store.open(path))
    steps = 0
    while engine.warm():
        steps += 1
    assert steps >= 2  # more than one chunk: the sequence crosses chunks
    assert not engine.warm()  # done stays done
    return engine


def wipe(path: Path) -> None:
    """Remove every recording behind the engine's back, through another connection."""
    with sqlite3.connect(path) as conn:
        conn.execute("DELETE FROM interactions")


def body(engine: Engine, request: Request, session: str = "s") -> bytes | None:
    match = engine.match(request, session)
    return None if match.interaction is None else match.interaction.response.body


def test_a_warmed_engine_answers_every_recording_from_memory(db: Path) -> None:
    engine = warmed(db)
    wipe(db)  # only what the warm-up read can answer now
    assert [body(engine, item(n)) for n in (0, 127, 128, 299)] == [
        b"item 0",
        b"item 127",
        b"item 128",
        b"item 299",
    ]


def test_a_sequence_read_across_chunks_is_walked_whole_and_in_order(db: Path) -> None:
    engine = warmed(db)
    wipe(db)
    assert [body(engine, POLL) for _ in range(4)] == [b"pending", b"running", b"done", b"done"]


def test_a_superseded_recording_is_warmed_but_never_matched(db: Path) -> None:
    store = Store.open(db)
    store.set_tags(store.exact_ids(exact_key(POLL))[1], [SUPERSEDED])
    store.close()
    engine = warmed(db)
    assert [body(engine, POLL) for _ in range(3)] == [b"pending", b"done", b"done"]


def test_a_change_to_the_recordings_stops_a_warm_up_under_way(db: Path) -> None:
    engine = Engine(Store.open(db))
    assert engine.warm()  # one chunk read
    engine.store.insert(Interaction(POLL, Response(200, body=b"later")), exact_key(POLL))
    engine.changed()
    assert not engine.warm()  # what it gathered is stale: it stops
    assert [body(engine, POLL) for _ in range(4)] == [b"pending", b"running", b"done", b"later"]


def test_a_full_cache_ends_the_warm_up_and_the_rest_is_read_when_asked(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # room for about 100 recordings of this size, fewer than the file holds
    monkeypatch.setattr(cache, "_ROW_CACHE_BYTES", 100 * (cache._ROW_OVERHEAD + 16))
    engine = Engine(Store.open(db))
    steps = 0
    while engine.warm():
        steps += 1
    assert steps == 0  # the first chunk already filled it
    # the keys of a warm-up that did not read everything are not kept: sequences stay whole
    assert [body(engine, POLL) for _ in range(3)] == [b"pending", b"running", b"done"]
    assert body(engine, item(299)) == b"item 299"
    assert engine.match(item(300), "s").kind is MatchKind.MISS


def test_a_full_cache_takes_a_new_recording_only_when_it_is_read_a_second_time(
    db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(cache, "_ROW_CACHE_BYTES", 100 * (cache._ROW_OVERHEAD + 16))
    engine = Engine(Store.open(db))
    while engine.warm():
        pass
    assert body(engine, item(0)) == b"item 0"  # warmed (and now its key is known)
    assert body(engine, item(50)) == b"item 50"
    assert body(engine, item(250)) == b"item 250"  # read once: not kept, nothing evicted
    assert body(engine, item(260)) == b"item 260"
    assert body(engine, item(260)) == b"item 260"  # read twice: kept, the oldest goes
    wipe(db)
    assert body(engine, item(260)) == b"item 260"
    assert body(engine, item(250)) is None
    assert body(engine, item(50)) == b"item 50"  # still there
    assert body(engine, item(0)) is None  # the oldest row went for item 260's


def test_steps_of_any_size_read_every_recording_once_and_keep_sequences_whole(db: Path) -> None:
    # virt serve makes its steps smaller while the disk is slow, larger again when it is not
    engine = Engine(Store.open(db))
    sizes = iter([8, 128, 3, 64, 8])
    steps = 0
    while engine.warm(next(sizes, 16)):
        steps += 1
    assert steps > 5
    wipe(db)
    assert [body(engine, item(n)) for n in (0, 7, 8, 150, 299)] == [
        b"item 0",
        b"item 7",
        b"item 8",
        b"item 150",
        b"item 299",
    ]
    assert [body(engine, POLL) for _ in range(4)] == [b"pending", b"running", b"done", b"done"]
