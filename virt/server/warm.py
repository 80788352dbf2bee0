"""Reading the recordings into memory between requests, in steps sized so that none holds up
the requests waiting on the event loop for long."""

from __future__ import annotations

import asyncio
import logging
import time

from virt.match.cache import WARM_CHUNK
from virt.match.engine import Engine

log = logging.getLogger("virt")

WARM_STEP_S = 0.002
"""What one step of reading the recordings ahead may hold the loop up for, about."""
WARM_CHUNK_LEAST = 8
"""Recordings a step reads at least, however slow the disk."""


async def warm_up(engine: Engine) -> None:
    """Read the recordings into memory a chunk at a time between requests, so that the first
    request for each is answered as fast as the next ones."""
    started, steps, size = time.monotonic(), 0, WARM_CHUNK
    try:
        while True:
            step = time.perf_counter()
            if not engine.warm(size):
                break
            steps += 1
            # a step holds up every request waiting on the loop: where the file's pages are
            # not in the page cache (at start, or dropped by the kernel since), each row costs
            # a read from disk, so the steps get smaller until each is WARM_STEP_S again
            took = time.perf_counter() - step
            if took > WARM_STEP_S and size > WARM_CHUNK_LEAST:
                size //= 2
            elif took < WARM_STEP_S / 2 and size < WARM_CHUNK:
                size *= 2
            await asyncio.sleep(0)
    except Exception as e:  # a damaged row: requests for it say so themselves
        log.warning("reading the recordings ahead stopped: %s", e)
        return
    log.debug("cache warm: %d steps in %.1f s", steps, time.monotonic() - started)
