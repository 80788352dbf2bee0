"""Batcher: items are written off the caller's thread, in order; when the backend is away they
wait for it, and the outage and the return are said once each."""

from __future__ import annotations

import logging

import pytest

from virt.errors import StateUnavailable
from virt.state.batch import Batcher


class Backend:
    def __init__(self) -> None:
        self.written: list[int] = []
        self.away = False
        self.broken = False

    def write(self, batch: list[int]) -> None:
        if self.away:
            raise StateUnavailable("session state at redis://x:6379/0: cannot write the journal")
        if self.broken:
            raise ValueError("a bug")
        self.written += batch


def test_items_wait_while_the_backend_is_away_and_are_written_when_it_returns(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend()
    batcher: Batcher[int] = Batcher(backend.write, "test-journal")
    batcher.add(1)
    assert batcher.flush()
    backend.away = True
    with caplog.at_level(logging.WARNING, logger="virt"):
        for n in (2, 3, 4):
            batcher.add(n)
            assert batcher.flush()
        assert backend.written == [1]
        backend.away = False
        batcher.add(5)
        batcher.close()
    assert backend.written == [1, 2, 3, 4, 5]
    said = [r.getMessage() for r in caplog.records]
    assert said == [
        "test-journal: session state at redis://x:6379/0: cannot write the journal; "
        "the entries wait until it answers again",
        "test-journal: written again, with the entries that waited",
    ]


def test_a_write_that_fails_for_another_reason_is_logged_and_not_tried_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    backend = Backend()
    batcher: Batcher[int] = Batcher(backend.write, "test-journal")
    backend.broken = True
    batcher.add(1)
    batcher.flush()
    backend.broken = False
    batcher.add(2)
    batcher.close()
    assert backend.written == [2]
    assert "test-journal: 1 entries not written" in caplog.text and "ValueError" in caplog.text
