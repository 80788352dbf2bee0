"""Stopping a process: SIGINT and SIGTERM call one stop function while it runs."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator


@contextlib.contextmanager
def stop_on_signals(stop: Callable[[], None]) -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM call `stop` on the running loop instead of
    raising KeyboardInterrupt: each process decides how it stops (virt record finishes the
    exchanges in flight; virt serve closes both doors together)."""
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
