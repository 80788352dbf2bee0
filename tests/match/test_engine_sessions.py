"""Engines sharing a session state walk one session's sequences as one engine would: the
workers of one machine through a state file, replicas through Redis."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.state.redisserver import RedisServer
from virt.errors import StateUnavailable
from virt.match.engine import Engine, MatchKind
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.state import open_state
from virt.store import Store

JOB = Request("GET", "https", "api.example.com", 443, "/jobs/7")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    for body in (b"pending", b"pending", b"done"):
        s.insert(Interaction(JOB, Response(200, body=body)), exact_key(JOB))
    yield s
    s.close()


@pytest.fixture(params=["sqlite", "redis"])
def state_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'state.db'}"
        return
    server = RedisServer(tmp_path).start()
    yield server.url
    server.kill()


def body(engine: Engine, session: str) -> bytes:
    match = engine.match(JOB, session)
    assert match.kind is MatchKind.EXACT and match.interaction is not None
    return match.interaction.response.body


def test_one_polling_session_alternating_between_two_engines_walks_in_order(
    store: Store, state_url: str
) -> None:
    engines = [Engine(store, state=open_state(state_url)) for _ in range(2)]
    walked = [body(engines[n % 2], "client-1") for n in range(4)]
    assert walked == [b"pending", b"pending", b"done", b"done"]
    assert body(engines[1], "client-2") == b"pending"  # another session starts afresh
    engines[0].reset()  # POST /__virt/reset reaching one worker restarts them all
    assert body(engines[1], "client-1") == b"pending"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(tmp_path).start()
    yield running
    running.kill()


def test_a_state_that_goes_away_is_an_error_naming_it_not_a_wrong_position(
    store: Store, server: RedisServer
) -> None:
    engine = Engine(store, state=open_state(server.url))
    assert body(engine, "client-1") == b"pending"
    server.kill()
    with pytest.raises(StateUnavailable, match=f"127.0.0.1:{server.port}"):
        engine.match(JOB, "client-1")
    server.start()
    assert body(engine, "client-1") == b"pending"  # Redis came back empty: from the start


def test_an_edit_through_one_engine_reaches_the_others_sharing_the_state(
    store: Store, state_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An admin edit lands on one worker; the others drop what they cached of the recordings
    within FOLLOW_EVERY seconds (0 here): none answers from a recording edited or deleted."""
    monkeypatch.setattr("virt.match.engine.FOLLOW_EVERY", 0.0)
    here, there = (Engine(store, state=open_state(state_url)) for _ in range(2))
    assert body(there, "client-1") == b"pending"  # there caches the sequence
    first = there.match(JOB, "client-2").interaction
    assert first is not None and first.id is not None
    store.update(first.id, Interaction(JOB, Response(200, body=b"queued")), exact_key(JOB))
    here.changed()  # what the admin API calls after an edit
    assert body(there, "client-3") == b"queued"
