"""VirtTest: what the virt fixture gives a test."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virt.pytest_plugin.server import VirtServer
from virt.pytest_plugin.settings import Mode, RunSettings


@dataclass
class VirtTest:
    """One test's view of virt. Its journal and misses are this test's only: the process
    belongs to this worker, which runs one test at a time."""

    settings: RunSettings
    server: VirtServer | None
    """None in mode none."""
    session: str
    """An X-Virt-Session value of this test's own, for clients that can send a header."""
    env: dict[str, str]
    """The variables set for this test (restored after it)."""
    after: int = 0
    """The last journal entry before this test began."""
    missed_before: int = 0
    """Misses virt had answered before this test began."""
    _taken: set[int] = field(default_factory=set)

    def __repr__(self) -> str:
        return f"VirtTest(mode={self.mode.value!r}, db={str(self.db)!r}, proxy={self.proxy!r})"

    @property
    def mode(self) -> Mode:
        return self.settings.mode

    @property
    def db(self) -> Path:
        return self.settings.db

    @property
    def url(self) -> str | None:
        """The direct door (a base URL), or None when virt records (virt record is a proxy)."""
        return self.server.url if self.server else None

    @property
    def proxy(self) -> str | None:
        """The proxy door, as set in HTTP_PROXY and HTTPS_PROXY."""
        return self.server.proxy if self.server else None

    @property
    def headers(self) -> dict[str, str]:
        return {"X-Virt-Session": self.session}

    def journal(self) -> list[dict[str, Any]]:
        """What virt answered for this test so far, oldest first (GET /__virt/journal)."""
        return self.server.journal(self.after) if self.server else []

    def misses(self) -> list[dict[str, Any]]:
        """The requests of this test virt had no answer for, except those taken."""
        return [e for e in self.journal() if e["match"] == "miss" and e["seq"] not in self._taken]

    def unlisted_misses(self) -> int:
        """Misses of this test no longer in the journal, which keeps the last 1000 answers: a
        test that sends more than that still fails for a miss among its first requests."""
        if self.server is None:
            return 0
        entries = self.journal()
        if not entries or entries[0]["seq"] <= self.after + 1:
            return 0  # nothing of this test has left the journal
        listed = sum(1 for e in entries if e["match"] == "miss")
        return max(0, self.server.misses_served() - self.missed_before - listed)

    def take_misses(self) -> list[dict[str, Any]]:
        """The misses so far, which then no longer fail the test: for a test about a miss."""
        misses = self.misses()
        self._taken.update(e["seq"] for e in misses)
        return misses

    def reset(self) -> None:
        """Restart every sequence, as at the start of the test (POST /__virt/reset)."""
        if self.server:
            self.server.reset()
