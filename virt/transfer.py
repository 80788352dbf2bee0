"""Import and export: readers' interactions into a Store, a Store's interactions out to a writer.

formats/ only reads and writes files; this module persists what they read, so the CLI and the
admin API import the same way.
"""

from __future__ import annotations

import collections
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from virt import formats
from virt.formats import ImportFormatError, Skipped
from virt.model import Interaction, Keys
from virt.normalize import keys
from virt.store import Filter, Store

BATCH = 500
"""Interactions per transaction while importing: large files stream in bounded memory."""


@dataclass(frozen=True, slots=True)
class Problem:
    """A file, or an entry in one, that was not imported, and why."""

    path: str
    where: str
    why: str

    def __str__(self) -> str:
        return (
            f"{self.path}: {self.where}: {self.why}" if self.where else f"{self.path}: {self.why}"
        )


@dataclass(slots=True)
class ImportReport:
    files: int = 0
    imported: int = 0
    by_format: collections.Counter[str] = field(default_factory=collections.Counter)
    skipped: list[Problem] = field(default_factory=list)
    """Entries passed over on purpose (no response, not HTTP) and files no format claims."""
    failed: list[Problem] = field(default_factory=list)
    """Files that could not be read: nothing of them was imported."""
    ids: list[int] = field(default_factory=list)


def import_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    format: str | None = None,
    on_file: Callable[[Path], None] | None = None,
    transform: Callable[[Interaction], Interaction] | None = None,
) -> ImportReport:
    """Import every recording under `paths` into `store`, detecting each file's format unless
    `format` names one. A file that fails is reported and rolled back; the batch goes on.
    """
    forced = formats.reader(format) if format else None
    report = ImportReport()
    for path in formats.expand(paths, forced):
        if on_file is not None:
            on_file(path)
        reader = forced or formats.detect(path)
        if reader is None:
            report.skipped.append(Problem(str(path), "", "not a recording in a format virt reads"))
            continue
        report.files += 1
        ids: list[int] = []
        skipped: list[Problem] = []
        try:
            for chunk in _batches(reader.read(path), skipped, str(path), transform):
                ids.extend(i for i, _ in store.insert_many(chunk))
        except ImportFormatError as e:
            _roll_back(store, ids)
            report.failed.append(Problem(str(path), e.where, f"{e.why} (nothing imported from it)"))
            continue
        report.imported += len(ids)
        report.by_format[reader.name] += len(ids)
        report.skipped.extend(skipped)
        report.ids.extend(ids)
    return report


def _batches(
    items: Iterable[Interaction | Skipped],
    skipped: list[Problem],
    path: str,
    transform: Callable[[Interaction], Interaction] | None,
) -> Iterator[list[tuple[Interaction, Keys]]]:
    batch: list[tuple[Interaction, Keys]] = []
    for item in items:
        if isinstance(item, Skipped):
            skipped.append(Problem(path, item.where, item.why))
            continue
        if transform is not None:
            item = transform(item)
        batch.append((item, keys(item.request)))
        if len(batch) >= BATCH:
            yield batch
            batch = []
    if batch:
        yield batch


def _roll_back(store: Store, ids: list[int]) -> None:
    for id in ids:
        store.delete(id)


def export(store: Store, format: str, path: Path, f: Filter | None = None) -> int:
    """Write the interactions matching `f` (all by default) to `path` in `format`."""
    writer = formats.writer(format)
    path.parent.mkdir(parents=True, exist_ok=True)
    return writer.write(stored(store, f or Filter()), path)


def stored(store: Store, f: Filter, page: int = 500) -> Iterator[Interaction]:
    """Every interaction matching `f`, in recorded order, a page at a time."""
    after: int | None = None
    while True:
        rows = store.find(f, after=after, limit=page)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id
