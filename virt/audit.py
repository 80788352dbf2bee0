"""Audit: the secrets left in recordings, in a database or in any recording file virt reads.

`virt scan` runs it before a recording is committed or shared. A finding is anything redaction
would replace (virt.redact.scan), so redacted recordings come out clean.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from virt import formats
from virt.formats import ImportFormatError, Skipped
from virt.redact import RedactRules
from virt.redact.scan import Finding, scan
from virt.store import Filter, Store


@dataclass(frozen=True, slots=True)
class Located:
    """A finding and the interaction it is in: `db#12` or `cassettes/x.yaml #3`."""

    location: str
    finding: Finding

    def as_dict(self) -> dict[str, str]:
        return {"location": self.location, **self.finding.as_dict()}


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A file that could not be read as a recording, and why."""

    path: str
    why: str


def scan_store(store: Store, rules: RedactRules | None = None) -> Iterator[Located]:
    """Every secret in `store`, interaction by interaction, in id order (a page at a time)."""
    after = None
    while page := store.find(Filter(), after=after, limit=500):
        for interaction in page:
            for finding in scan(interaction, rules):
                yield Located(f"{store.path.name}#{interaction.id}", finding)
        after = page[-1].id


def scan_paths(
    paths: Iterable[Path],
    rules: RedactRules | None = None,
    unreadable: list[Unreadable] | None = None,
) -> Iterator[Located]:
    """Every secret in the recording files under `paths` (folders walked, formats detected).
    Files that are no recording, or broken, go into `unreadable` and the scan goes on."""
    for path in formats.expand(paths):
        reader = formats.detect(path)
        if reader is None:
            if unreadable is not None:
                unreadable.append(Unreadable(str(path), "not a recording in a format virt reads"))
            continue
        n = 0
        try:
            for item in reader.read(path):
                if isinstance(item, Skipped):
                    continue
                n += 1
                for finding in scan(item, rules):
                    yield Located(f"{path} #{n}", finding)
        except ImportFormatError as e:
            if unreadable is not None:
                unreadable.append(
                    Unreadable(str(path), f"{e.where}: {e.why}" if e.where else e.why)
                )
