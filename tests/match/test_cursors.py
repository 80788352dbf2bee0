"""Sequence positions are kept for a bounded number of sessions, least recently used first out."""

from __future__ import annotations

import logging

import pytest

from virt.match.cursors import MAX_SESSIONS, Cursors


def test_each_session_walks_its_own_sequences() -> None:
    cursors = Cursors()
    assert [cursors.advance("a\0GET /job") for _ in range(3)] == [0, 1, 2]
    assert cursors.advance("b\0GET /job") == 0
    assert cursors.advance("a\0GET /other") == 0
    cursors.clear()
    assert cursors.advance("a\0GET /job") == 0


def test_past_the_limit_the_least_recently_used_session_is_forgotten_and_said_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    cursors = Cursors(max_sessions=3)
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
    cursors = Cursors()
    for n in range(MAX_SESSIONS * 3):
        cursors.advance(f"client-{n}\0GET /job")
    assert len(cursors) == MAX_SESSIONS
