"""Session state in a real Redis: shared by clients, expiring, cleared per namespace; Redis
going away is a clear StateUnavailable, and its return is noticed without a restart."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.state.redisserver import RedisServer
from virt.errors import StateLimit, StateUnavailable
from virt.match.journal import Journal
from virt.state import open_state
from virt.state.base import MAX_RECORDS
from virt.state.redis import QUIET, RedisState

PASSWORD = "s3cret-pw"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(tmp_path, password=PASSWORD).start()
    yield running
    running.kill()


def _state(server: RedisServer, query: str = "") -> RedisState:
    state = open_state(server.url + query)
    assert isinstance(state, RedisState)
    return state


def test_two_clients_advance_one_cursor_in_turn(server: RedisServer) -> None:
    one, two = _state(server), _state(server)
    positions = [(one if n % 2 else two).advance("polling\0GET /job") for n in range(10)]
    assert positions == list(range(10))
    assert one.advance("other\0GET /job") == 0


def test_a_sessions_state_expires_after_the_ttl(server: RedisServer) -> None:
    state = _state(server, "?ttl=1")
    state.advance("a\0GET /job")
    state.advance("a\0GET /job")
    assert 0 < state.ttl_of("a") <= 1
    time.sleep(2.1)
    assert state.ttl_of("a") == -2
    assert state.advance("a\0GET /job") == 0


def test_clear_forgets_the_sessions_of_its_namespace_only(server: RedisServer) -> None:
    mine, theirs = _state(server, "?namespace=mine"), _state(server, "?namespace=theirs")
    for state in (mine, theirs):
        state.advance("a\0GET /job")
        state.put("a", "orders/1", b"{}")
    journal = Journal(shared=mine.served())
    journal.add(door="direct", method="GET", url="/a", match="exact", status=200)
    mine.clear()
    assert mine.advance("a\0GET /job") == 0 and mine.get("a", "orders/1") is None
    assert theirs.advance("a\0GET /job") == 1 and theirs.get("a", "orders/1") == b"{}"
    assert [e.url for e in journal.entries()] == ["/a"]  # reset restarts sequences only
    mine.close()


def test_records_are_shared_and_bounded(server: RedisServer) -> None:
    one, two = _state(server), _state(server)
    one.put("a", "orders/1", b"\x00{}")
    one.put("a", "orders/2", b"[]")
    one.put("a", "users/1", b"u")
    assert two.get("a", "orders/1") == b"\x00{}" and two.get("b", "orders/1") is None
    assert two.names("a", "orders/") == ["orders/1", "orders/2"]
    assert two.delete("a", "users/1") is True and one.delete("a", "users/1") is False
    for n in range(MAX_RECORDS - 2):
        one.put("a", f"r/{n}", b"")
    two.put("a", "orders/1", b"replaced")  # replacing one is not one more
    with pytest.raises(StateLimit, match="already holds"):
        two.put("a", "one-more", b"")


def test_the_journal_of_every_replica_is_read_from_any(server: RedisServer) -> None:
    states = [_state(server), _state(server)]
    one, two = (Journal(shared=state.served()) for state in states)
    assert one.started == two.started
    one.add(door="direct", method="GET", url="/a", match="exact", status=200)
    one.entries(limit=1)  # written
    two.add(door="proxy", method="GET", url="/b", match="miss", status=599, why="none")
    two.entries(limit=1)
    assert [(e.url, e.match) for e in one.entries()] == [("/b", "miss"), ("/a", "exact")]
    assert [e.url for e in one.entries(match="exact")] == ["/a"]
    assert one.counts() == {"exact": 1, "miss": 1}
    for state in states:
        state.close()


def test_redis_going_away_is_a_clear_error_and_its_return_is_noticed(
    server: RedisServer,
) -> None:
    state = _state(server)
    assert [state.advance("a\0GET /job") for _ in range(2)] == [0, 1]
    server.kill()
    began = time.monotonic()
    with pytest.raises(StateUnavailable) as caught:
        state.advance("a\0GET /job")
    assert time.monotonic() - began < 5  # fails fast, not after the client's backoff
    message = str(caught.value)
    assert f"session state at redis://:***@127.0.0.1:{server.port}/0" in message
    assert "cannot advance a sequence" in message and "onnect" in message
    assert PASSWORD not in message and PASSWORD not in caught.value.hint
    with pytest.raises(StateUnavailable, match="cannot keep a record"):
        state.put("a", "orders/1", b"{}")
    server.start()  # same port; an empty Redis, as after a restart without persistence
    assert state.advance("a\0GET /job") == 0
    state.put("a", "orders/1", b"{}")  # the script is loaded again
    assert state.get("a", "orders/1") == b"{}"


def test_a_wrong_password_is_unavailable_without_showing_it(server: RedisServer) -> None:
    state = open_state(f"redis://:wrong-pw@127.0.0.1:{server.port}/0")
    with pytest.raises(StateUnavailable) as caught:
        state.advance("a\0GET /job")
    assert "wrong-pw" not in str(caught.value)
    assert "redis://:***@127.0.0.1" in str(caught.value)


def test_a_redis_that_does_not_answer_is_not_asked_again_for_a_second() -> None:
    """A Redis that accepts connections and never answers (a hung server, a full network
    path): the first call waits for the 1 s timeout, the calls right after it fail at once
    rather than stall the event loop a second each."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(16)
        port = silent.getsockname()[1]
        state = open_state(f"redis://127.0.0.1:{port}/0")
        began = time.monotonic()
        with pytest.raises(StateUnavailable, match="cannot advance a sequence: Timeout"):
            state.advance("a\0GET /job")
        waited = time.monotonic() - began
        assert 0.5 < waited < 5
        began = time.monotonic()
        with pytest.raises(StateUnavailable, match=r"Timeout.*\(not asked again for 1s\)"):
            state.advance("a\0GET /job")
        assert time.monotonic() - began < waited / 2
        time.sleep(QUIET)
        with pytest.raises(StateUnavailable, match="cannot read a record: Timeout") as caught:
            state.get("a", "orders/1")  # asked again, and timed out again
        assert "not asked again" not in str(caught.value)


def test_a_redis_that_is_not_there_at_start_is_said_before_serving(tmp_path: Path) -> None:
    """virt serve builds its engine, and with it the shared journal, before it serves: a
    Redis that does not answer then stops it with a message naming the Redis."""
    down = RedisServer(tmp_path).start()
    down.kill()
    state = _state(down)
    with pytest.raises(StateUnavailable, match="cannot read when the journal started"):
        state.served()
