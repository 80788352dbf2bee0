"""Writer: one thread that owns a write connection and commits interactions in groups.

Callers on an event loop get a future per interaction that resolves only after its row is
COMMITted, so a proxy can hold a response until it is durable without blocking its loop.

What a loop writes in one turn reaches the thread as one batch and is settled with one call
back into the loop: a hand-over per row (a future chained into the loop, a wake-up of the loop
per row) cost a busy recording proxy more than the SQLite work itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
from concurrent.futures import Future
from pathlib import Path

from virt.errors import StoreError
from virt.model import Interaction, Keys
from virt.store import Store

log = logging.getLogger(__name__)

_MAX_GROUP = 256
"""Rows committed in one transaction at most (a batch from a loop is never split)."""
_STOP = object()

Row = tuple[Interaction, str | Keys]
Outcome = Interaction | StoreError
"""What became of a row: as committed (with id and seq), or why it was not."""


class _Batch:
    """The rows one event loop handed over in one turn, and the futures waiting on them."""

    __slots__ = ("futures", "loop", "rows")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.rows: list[Row] = []
        self.futures: list[asyncio.Future[Interaction]] = []

    def settle(self, outcomes: list[Outcome]) -> None:
        """Resolve every future of the batch with one call into its loop."""
        with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for these now
            self.loop.call_soon_threadsafe(_resolve, self.futures, outcomes)

    def fail(self, error: StoreError) -> None:
        _resolve(self.futures, [error] * len(self.futures))


def _resolve(futures: list[asyncio.Future[Interaction]], outcomes: list[Outcome]) -> None:
    for fut, outcome in zip(futures, outcomes, strict=True):
        if fut.done():  # the caller gave up waiting (cancelled): its row is written all the same
            continue
        if isinstance(outcome, StoreError):
            fut.set_exception(outcome)
        else:
            fut.set_result(outcome)


class _Single:
    """One row from `submit`, with the thread-safe future its caller holds."""

    __slots__ = ("future", "rows")

    def __init__(self, row: Row, future: Future[Interaction]) -> None:
        self.rows = [row]
        self.future = future

    def settle(self, outcomes: list[Outcome]) -> None:
        (outcome,) = outcomes
        # A caller that gave up cancelled its future (its row is written all the same); once
        # running, it cannot be cancelled, so setting it cannot raise and kill the thread.
        if not self.future.set_running_or_notify_cancel():
            return
        if isinstance(outcome, StoreError):
            self.future.set_exception(outcome)
        else:
            self.future.set_result(outcome)


class Writer:
    """Group-commits interactions on a background thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders hand-overs against close(): nothing after _STOP
        self._closed = False
        self._open: dict[asyncio.AbstractEventLoop, _Batch] = {}
        """Per loop, the batch its current turn is filling."""
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name=f"virt-writer:{self.path.name}", daemon=True
        )
        self._thread.start()
        opened.result()  # raises the StoreError from opening, in the caller's thread

    def submit(self, interaction: Interaction, exact_key: str | Keys) -> Future[Interaction]:
        """Queue `interaction`; the future resolves to it, with id and seq, once committed."""
        fut: Future[Interaction] = Future()
        if not self._hand_over(_Single((interaction, exact_key), fut)):
            fut.set_exception(self._stopped())
        return fut

    async def write(self, interaction: Interaction, exact_key: str | Keys) -> Interaction:
        """Write `interaction` and wait, without blocking the loop, until it is committed."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Interaction] = loop.create_future()
        batch = self._open.get(loop)
        if batch is None:
            batch = self._open[loop] = _Batch(loop)
            loop.call_soon(self._end_of_turn, loop)
        batch.rows.append((interaction, exact_key))
        batch.futures.append(fut)
        return await fut

    def _end_of_turn(self, loop: asyncio.AbstractEventLoop) -> None:
        batch = self._open.pop(loop, None)
        if batch is None:  # close() on this loop handed it over already
            return
        if not self._hand_over(batch):
            batch.fail(self._stopped())

    def _hand_over(self, item: _Batch | _Single) -> bool:
        with self._lock:
            if self._closed or not self._thread.is_alive():
                return False
            self._queue.put(item)
        return True

    def _stopped(self) -> StoreError:
        return StoreError(f"the writer for {self.path} has stopped")

    def close(self) -> None:
        """Commit everything handed over so far, then stop the thread. Called on a loop, that
        includes what the loop wrote in this turn; writes of other loops' unfinished turns
        fail as writes after close do."""
        loop = _running_loop()
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._thread.is_alive():
                if loop is not None and loop in self._open:
                    self._queue.put(self._open.pop(loop))
                self._queue.put(_STOP)
        self._thread.join()

    def _run(self, opened: Future[None]) -> None:
        try:
            store = Store.open(self.path)
        except BaseException as e:  # the caller waits on `opened`: it must always be set
            opened.set_exception(e)
            return
        opened.set_result(None)
        try:
            stopping = False
            while not stopping:
                group = [self._queue.get()]
                size = _size(group[0])
                while size < _MAX_GROUP:
                    try:
                        item = self._queue.get_nowait()
                    except queue.Empty:
                        break
                    group.append(item)
                    size += _size(item)
                if _STOP in group:
                    stopping = True
                    group = [g for g in group if g is not _STOP]
                self._write_group([g for g in group if isinstance(g, _Batch | _Single)], store)
        finally:
            store.close()

    def _write_group(self, group: list[_Batch | _Single], store: Store) -> None:
        rows = [row for item in group for row in item.rows]
        if not rows:
            return
        outcomes = self._commit(store, rows)
        at = 0
        for item in group:
            item.settle(outcomes[at : at + len(item.rows)])
            at += len(item.rows)

    def _commit(self, store: Store, rows: list[Row]) -> list[Outcome]:
        """Each row as committed, or the error that kept it out; never raises."""
        try:
            ids = store.insert_many(rows)
        except Exception as e:
            if len(rows) > 1:
                # grouping is only for speed: one row the store cannot take fails alone
                return [outcome for row in rows for outcome in self._commit(store, [row])]
            # anything escaping here would end the thread and leave every caller waiting forever
            error = e if isinstance(e, StoreError) else StoreError(f"cannot record: {e}")
            log.error("could not record %s: %s", rows[0][0].request.url, error)
            return [error]
        return [i.with_id(id, seq) for (i, _), (id, seq) in zip(rows, ids, strict=True)]


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _size(item: object) -> int:
    """Rows an item of the queue brings (none for _STOP)."""
    return len(item.rows) if isinstance(item, _Batch | _Single) else 0
