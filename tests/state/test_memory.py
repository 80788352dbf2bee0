"""In memory, sequence positions and records are kept for a bounded number of sessions, least
recently used first out."""

from __future__ import annotations

import logging

import pytest

from virt.errors import StateLimit
from virt.state.base import MAX_RECORD_BYTES, MAX_RECORDS, MAX_SESSIONS
from virt.state.memory import MemoryState


def test_each_session_walks_its_own_sequences() -> None:
    cursors = MemoryState()
    assert [cursors.advance("a\0GET /job") for _ in range(3)] == [0, 1, 2]
    assert cursors.advance("b\0GET /job") == 0
    assert cursors.advance("a\0GET /other") == 0
    cursors.clear()
    assert cursors.advance("a\0GET /job") == 0


def test_past_the_limit_the_least_recently_used_session_is_forgotten_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cursors = MemoryState(max_sessions=3)
    for name in "abc":
        cursors.advance(f"{name}\0GET /job")
    cursors.advance("a\0GET /job")  # a is now the most recently used; b the least
    with caplog.at_level(logging.WARNING, logger="virt"):
        cursors.advance("d\0GET /job")
        cursors.advance("e\0GET /job")
    assert len(cursors) == 3
    assert cursors.advance("a\0GET /job") == 2  # kept its place
    assert cursors.advance("b\0GET /job") == 0  # forgotten: starts again
    warnings = [r for r in caplog.records if "more than 3 sessions" in r.getMessage()]
    assert len(warnings) == 1


def test_many_sessions_keep_at_most_the_limit() -> None:
    cursors = MemoryState()
    for n in range(MAX_SESSIONS * 3):
        cursors.advance(f"client-{n}\0GET /job")
    assert len(cursors) == MAX_SESSIONS


def test_records_are_kept_per_session_and_forgotten_on_clear() -> None:
    state = MemoryState()
    state.put("a", "orders/1", b"{}")
    state.put("a", "orders/2", b"[]")
    state.put("a", "users/1", b"x")
    state.put("b", "orders/9", b"y")
    assert state.get("a", "orders/1") == b"{}"
    assert state.get("b", "orders/1") is None
    assert state.names("a", "orders/") == ["orders/1", "orders/2"]
    assert state.delete("a", "orders/1") is True
    assert state.delete("a", "orders/1") is False
    state.clear()
    assert state.names("a") == [] and state.get("b", "orders/9") is None


def test_a_session_cannot_hold_more_records_than_the_bound() -> None:
    state = MemoryState()
    for n in range(MAX_RECORDS):
        state.put("a", f"r/{n}", b"")
    state.put("a", "r/0", b"replaced")  # replacing one is not one more
    with pytest.raises(StateLimit, match=f"already holds {MAX_RECORDS} records"):
        state.put("a", "one-more", b"")
    with pytest.raises(StateLimit, match="bytes"):
        state.put("b", "big", b"x" * (MAX_RECORD_BYTES + 1))
    assert state.get("b", "big") is None
