"""Drift while recording (virt record --compare-with F): each recorded exchange that F also
holds is compared with F's answer, and every difference is logged as it happens."""

from __future__ import annotations

import logging
import queue
import threading
from pathlib import Path

from virt.drift.check import Selection, compare_route
from virt.drift.finding import Severity
from virt.model import Interaction
from virt.normalize import keys
from virt.store import Store

log = logging.getLogger("virt.drift")
QUEUE = 1000
"""Exchanges waiting to be compared; past this, the newest are counted as not compared."""


class Watch:
    """Compares recorded exchanges with those of another recording set, off the event loop.

    Call it with each recorded (already redacted) interaction; `close` waits for the queue and
    logs a summary. Log lines name the URL without its query and never quote an example."""

    def __init__(self, path: Path) -> None:
        self.path = path
        Store.open(path, readonly=True, create=False).close()  # a bad path fails before recording
        self.compared = self.skipped = 0
        self.counts = {Severity.BREAKING: 0, Severity.COMPATIBLE: 0}
        self._queue: queue.Queue[Interaction | None] = queue.Queue(QUEUE)
        self._thread = threading.Thread(target=self._run, name="virt drift watch", daemon=True)
        self._thread.start()

    def __call__(self, interaction: Interaction) -> None:
        try:
            self._queue.put_nowait(interaction)
        except queue.Full:
            self.skipped += 1

    def _run(self) -> None:
        store = Store.open(self.path, readonly=True, create=False)
        try:
            while (interaction := self._queue.get()) is not None:
                try:
                    self._compare(store, interaction)
                except Exception as e:  # one exchange that cannot be compared stops nothing
                    log.warning(
                        "drift: cannot compare %s (%s)", _where(interaction), type(e).__name__
                    )
        finally:
            store.close()

    def _compare(self, store: Store, interaction: Interaction) -> None:
        lookup = keys(interaction.request)
        ids = store.exact_ids(lookup.exact)
        if not ids and lookup.canonical:
            ids = store.canonical_ids(lookup.canonical)
        recorded = store.get(ids[0]) if ids else None
        if recorded is None:
            return
        self.compared += 1
        for finding in compare_route([(recorded, interaction.response)], Selection()):
            self.counts[finding.severity] += 1
            log.warning(
                "drift %s %s: [%s] %s",
                interaction.request.method,
                _where(interaction),
                finding.severity,
                finding.message,
            )

    def close(self) -> None:
        """Compare what is queued, then log how many exchanges were compared and what drifted."""
        self._queue.put(None)
        self._thread.join()
        log.info(
            "compared %d exchanges with %s: %d breaking and %d compatible differences%s",
            self.compared,
            self.path,
            self.counts[Severity.BREAKING],
            self.counts[Severity.COMPATIBLE],
            f" ({self.skipped} not compared: too many at once)" if self.skipped else "",
        )


def _where(interaction: Interaction) -> str:
    r = interaction.request
    return r.origin + r.path  # no query: it often carries a key
