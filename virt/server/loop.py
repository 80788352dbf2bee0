"""The event loop of virt serve (uvloop where it is installed, else asyncio's own), and how
serve and record keep garbage collection off the hot path. virt record keeps mitmproxy's
loop."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any

FULL_COLLECTION_EVERY_S = 600.0
"""How often everything set aside from garbage collection is looked at again."""


def run_loop(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` to the end on uvloop (replay does nearly twice the work per core on it), or
    on asyncio's loop where uvloop has no build (Windows)."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


@contextmanager
def gc_policy() -> Iterator[None]:
    """Keep Python's garbage collections of old objects off the hot path.

    A collection walks every object of its generations, and replay keeps many (the caches of
    recordings): at a million recordings a full collection took 300 ms, every few seconds
    under load, and each one is a stall for every client. What was alive at start-up, and what
    survives each collection of the older generations, is set aside (gc.freeze), so that the
    next ones walk only what is new. Reference cycles set aside and dropped later are freed by
    `full_collections`, which the serving loop runs.
    """

    def after(phase: str, info: dict[str, Any]) -> None:
        if phase == "stop" and info["generation"] > 0:
            gc.freeze()

    set_aside_startup()
    gc.callbacks.append(after)
    try:
        yield
    finally:
        gc.callbacks.remove(after)
        gc.unfreeze()


def set_aside_startup() -> None:
    """Set aside from garbage collection what start-up made (modules, classes, options): each
    collection of the oldest generation walked it all again, a pause for every client of a
    busy recording proxy (its p99 halved without them). Unlike gc_policy, nothing made later
    is set aside: a proxy's flows hold reference cycles, which only a collection frees."""
    gc.collect()
    gc.freeze()


async def full_collections(every: float = FULL_COLLECTION_EVERY_S) -> None:
    """Every `every` seconds, walk everything once (one pause, of about 0.3 s at a million
    recordings), so that cycles set aside by gc_policy and dropped since are freed."""
    while True:
        await asyncio.sleep(every)
        gc.unfreeze()
        gc.collect()
        gc.freeze()
