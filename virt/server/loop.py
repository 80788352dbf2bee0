"""The event loop both servers run on: uvloop where it is installed, else asyncio's own."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("virt")

FULL_COLLECTION_EVERY_S = 600.0
"""How often everything set aside from garbage collection is looked at again (see gc_policy)."""


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to the end on uvloop (replay and recording do several times the work per
    core on it), or on asyncio's loop where uvloop has no build (Windows)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


@contextmanager
def gc_policy() -> Iterator[None]:
    """Keep Python's full garbage collections off the hot path.

    A full collection walks every object that is tracked, and replay keeps many (the caches of
    recordings): at a million recordings one took 300 ms, every few seconds under load, and
    each one is a stall for every client. What was alive at start-up, and what survived each
    full collection since, is set aside (gc.freeze), so that the next ones walk only what is
    new; every FULL_COLLECTION_EVERY_S everything is walked once again, so that reference
    cycles set aside and dropped since are freed.
    """
    last_full = time.monotonic()

    def after(phase: str, info: dict[str, Any]) -> None:
        nonlocal last_full
        if phase != "stop" or info["generation"] != 2:
            return
        now = time.monotonic()
        if now - last_full > FULL_COLLECTION_EVERY_S:
            last_full = now
            gc.unfreeze()  # looked at by the next full collection
        else:
            gc.freeze()

    gc.collect()
    gc.freeze()
    gc.callbacks.append(after)
    try:
        yield
    finally:
        gc.callbacks.remove(after)
        gc.unfreeze()
