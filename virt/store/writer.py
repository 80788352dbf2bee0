"""Writer: one thread that owns a write connection and commits interactions in groups.

Callers on an event loop get a future per interaction that resolves only after its row is
COMMITted, so a proxy can hold a response until it is durable without blocking its loop.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import cast

from virt.errors import StoreError
from virt.model import Interaction, Keys
from virt.store import Store

log = logging.getLogger(__name__)

_MAX_GROUP = 256
_STOP = object()


class Writer:
    """Group-commits interactions on a background thread."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._lock = threading.Lock()  # orders submit() against close(): nothing queued after _STOP
        self._closed = False
        opened: Future[None] = Future()
        self._thread = threading.Thread(
            target=self._run, args=(opened,), name=f"virt-writer:{self.path.name}", daemon=True
        )
        self._thread.start()
        opened.result()  # raises the StoreError from opening, in the caller's thread

    def submit(self, interaction: Interaction, exact_key: str | Keys) -> Future[Interaction]:
        """Queue `interaction`; the future resolves to it, with id and seq, once committed."""
        fut: Future[Interaction] = Future()
        with self._lock:
            if self._closed or not self._thread.is_alive():
                fut.set_exception(StoreError(f"the writer for {self.path} has stopped"))
                return fut
            self._queue.put((interaction, exact_key, fut))
        return fut

    async def write(self, interaction: Interaction, exact_key: str | Keys) -> Interaction:
        """Write `interaction` and wait, without blocking the loop, until it is committed."""
        return await asyncio.wrap_future(self.submit(interaction, exact_key))

    def close(self) -> None:
        """Commit everything queued so far, then stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            if self._thread.is_alive():
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
                while len(group) < _MAX_GROUP:
                    try:
                        group.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                if _STOP in group:
                    stopping = True
                    group = [g for g in group if g is not _STOP]
                items = cast(list[tuple[Interaction, str | Keys, Future[Interaction]]], group)
                for _, _, fut in items:
                    # A caller that gives up cancels its future (asyncio.wrap_future does); once
                    # running, it cannot be cancelled, so setting it cannot raise and kill this
                    # thread. A row whose caller left first is written all the same.
                    fut.set_running_or_notify_cancel()
                if items:
                    self._commit(store, items)
        finally:
            store.close()

    def _commit(
        self, store: Store, group: list[tuple[Interaction, str | Keys, Future[Interaction]]]
    ) -> None:
        try:
            ids = store.insert_many([(i, k) for i, k, _ in group])
        except Exception as e:
            if len(group) > 1:
                # grouping is only for speed: one row the store cannot take fails alone
                for item in group:
                    self._commit(store, [item])
                return
            # anything escaping here would end the thread and leave every caller waiting forever
            error = e if isinstance(e, StoreError) else StoreError(f"cannot record: {e}")
            interaction, _, fut = group[0]
            log.error("could not record %s: %s", interaction.request.url, error)
            if not fut.cancelled():
                fut.set_exception(error)
            return
        for (interaction, _, fut), (id, seq) in zip(group, ids, strict=True):
            if not fut.cancelled():
                fut.set_result(interaction.with_id(id, seq))
