"""Batcher: hands queued items to a write function on a thread of its own, in batches, so the
request path never waits for a shared journal."""

from __future__ import annotations

import logging
import os
import queue
import threading
from collections.abc import Callable
from typing import Generic, TypeVar, cast

from virt.errors import VirtError

log = logging.getLogger("virt")

T = TypeVar("T")

MAX_BATCH = 500
"""Items written at once at most; more wait for the next batch."""

MAX_QUEUED = 100_000
"""Items waiting at most, queued or held after a failed write: when the backend is away this
long, items are dropped, counted and said, rather than filling memory."""

FLUSH_WAIT = 5.0
"""Seconds a reader waits for this process's queued items to be written."""

_STOP = object()


class Batcher(Generic[T]):
    """Queues items and writes them with `write(batch)` on a daemon thread.

    The thread starts on first use in the process that uses it, so a Batcher made before
    os.fork works in the child. Items a write could not take because the backend is away
    (a VirtError) are held and written with the next batch; the outage and the return are
    logged once each.
    """

    def __init__(self, write: Callable[[list[T]], None], name: str) -> None:
        self._write = write
        self._name = name
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._queued = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._held: list[T] = []
        """Items a failed write left, tried again with the next batch."""
        self._failing = False

    def add(self, item: T) -> None:
        """Queue `item`; never blocks."""
        self._started()
        with self._lock:
            if self._queued >= MAX_QUEUED:
                self._dropped += 1
                if self._dropped == 1:
                    log.error(
                        "%s: %d entries wait to be written; dropping newer ones",
                        self._name,
                        MAX_QUEUED,
                    )
                return
            self._queued += 1
        self._queue.put(item)

    def flush(self, timeout: float = FLUSH_WAIT) -> bool:
        """Wait until what was queued before the call is written (or failed); whether it was
        within `timeout`."""
        if self._thread is None or self._pid != os.getpid():
            return True
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self, timeout: float = FLUSH_WAIT) -> None:
        """Write what is queued, then stop the thread."""
        if self._thread is None or self._pid != os.getpid():
            return
        self._queue.put(_STOP)
        self._thread.join(timeout)
        self._thread = None

    def _started(self) -> None:
        pid = os.getpid()
        if self._thread is not None and self._pid == pid:
            return
        with self._lock:
            if self._thread is not None and self._pid == pid:
                return
            if self._pid != pid:  # inherited over fork: the parent's queue is not ours
                self._queue = queue.SimpleQueue()
                self._queued, self._held = 0, []
            self._pid = pid
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def _run(self) -> None:
        stopping = False
        while not stopping:
            taken = [self._queue.get()]
            while len(taken) < MAX_BATCH:
                try:
                    taken.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stopping = _STOP in taken
            items = [
                cast(T, i) for i in taken if i is not _STOP and not isinstance(i, threading.Event)
            ]
            with self._lock:
                self._queued -= len(items)
            if items:
                self._write_batch(items)
            for waiter in taken:
                if isinstance(waiter, threading.Event):
                    waiter.set()

    def _write_batch(self, items: list[T]) -> None:
        """Write what is held from failed writes and `items`; on a VirtError (the backend is
        away) hold them for the next try, the newest MAX_QUEUED at most."""
        items = self._held + items
        try:
            self._write(items)
        except VirtError as e:
            self._held = items[-MAX_QUEUED:]
            lost = len(items) - len(self._held)
            with self._lock:
                self._dropped += lost
            if not self._failing:
                self._failing = True
                log.error("%s: %s; the entries wait until it answers again", self._name, e)
            return
        except Exception:
            log.exception("%s: %d entries not written", self._name, len(items))
            self._held = []
            return
        self._held = []
        with self._lock:
            dropped, self._dropped = self._dropped, 0
        if self._failing:
            self._failing = False
            log.warning("%s: written again, with the entries that waited", self._name)
        if dropped:
            log.error("%s: %d entries were dropped while the backend was away", self._name, dropped)
