"""JournalWriter: persists served-request records on a thread of its own, in batches."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from virt.errors import StoreError
from virt.store import Store
from virt.store.tables import JournalRow

log = logging.getLogger(__name__)
_STOP = object()


class JournalWriter:
    """Appends journal rows to the database's journal table without blocking the caller."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._queue: queue.SimpleQueue[object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="virt-journal", daemon=True)
        self._thread.start()

    def put(self, row: JournalRow) -> None:
        self._queue.put(row)

    def close(self) -> None:
        self._queue.put(_STOP)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            store = Store.open(self.path, create=False)
        except StoreError as e:
            log.error("the journal will not be persisted: %s", e)
            return
        try:
            stopping = False
            while not stopping:
                batch = [self._queue.get()]
                while True:
                    try:
                        batch.append(self._queue.get_nowait())
                    except queue.Empty:
                        break
                stopping = _STOP in batch
                rows = [r for r in batch if isinstance(r, JournalRow)]
                if rows:
                    try:
                        store.journal(rows)
                    except StoreError as e:
                        log.error("could not persist %d journal entries: %s", len(rows), e)
        finally:
            store.close()
