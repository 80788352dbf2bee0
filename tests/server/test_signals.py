"""SIGINT and SIGTERM call the process's stop function while it runs, and only then."""

from __future__ import annotations

import asyncio
import os
import signal

import pytest

from virt.server.signals import stop_on_signals


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_signal_calls_stop_instead_of_ending_the_process(sig: signal.Signals) -> None:
    async def main() -> int:
        stopped = asyncio.Event()
        calls = 0

        def stop() -> None:
            nonlocal calls
            calls += 1
            stopped.set()

        with stop_on_signals(stop):
            os.kill(os.getpid(), sig)
            await asyncio.wait_for(stopped.wait(), timeout=10)
        return calls

    assert asyncio.run(main()) == 1


def test_the_handlers_are_removed_when_the_block_ends() -> None:
    before = signal.getsignal(signal.SIGTERM)

    async def main() -> None:
        with stop_on_signals(lambda: None):
            assert signal.getsignal(signal.SIGTERM) != before
        assert signal.getsignal(signal.SIGTERM) == before

    asyncio.run(main())
