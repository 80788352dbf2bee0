"""Import and export: readers' interactions into a Store, a Store's interactions out to a writer.

formats/ only reads and writes files; this module persists what they read, so the CLI and the
admin API import the same way.
"""

from __future__ import annotations

import collections
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import TracebackType
from typing import Self

from virt import formats
from virt.config import ConfigFile
from virt.encoding import BodyTooLarge
from virt.formats import ImportFormatError, Skipped
from virt.model import Interaction, Keys
from virt.normalize import keys
from virt.redact import Redactor, RedactRules, UnredactableBody
from virt.redact.key import secret_key
from virt.schema.openapi import OpenApiError, is_openapi, load_openapi, read_file
from virt.store import Filter, Store

log = logging.getLogger(__name__)

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

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "where": self.where, "why": self.why}


SHOWN_PER_FILE = 20
"""Skipped entries an import report lists per file; the others are counted, not kept."""
SHOWN_IN_ALL = 200
"""Skipped entries an import report lists in all, however many files were read."""
REASONS = 50
"""Distinct reasons an import report counts; rarer ones are counted together."""
OTHER_REASONS = "(other reasons)"


@dataclass(slots=True)
class ImportReport:
    """What an import did, in memory bounded whatever the input: counts of everything, and the
    first few skipped entries (SHOWN_PER_FILE per file) with their reasons."""

    files: int = 0
    imported: int = 0
    by_format: collections.Counter[str] = field(default_factory=collections.Counter)
    skipped: list[Problem] = field(default_factory=list)
    """The first entries passed over on purpose (no response, not HTTP) and files no format
    claims: SHOWN_PER_FILE per file, SHOWN_IN_ALL in all. skipped_count counts them all."""
    skipped_count: int = 0
    """Every entry and file skipped, listed in `skipped` or not."""
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)
    """How many were skipped for each reason (REASONS of them; the rest as OTHER_REASONS)."""
    failed: list[Problem] = field(default_factory=list)
    """Files that could not be read: nothing of them was imported."""
    ids: list[int] = field(default_factory=list)
    documents: list[str] = field(default_factory=list)
    """One line per API description stored: "stored OpenAPI document <title> <version>: N
    operations"."""

    @property
    def skipped_unlisted(self) -> int:
        """Entries skipped but not listed in `skipped` (counted only)."""
        return self.skipped_count - len(self.skipped)

    def as_dict(self) -> dict[str, object]:
        """The report as `virt import --json` prints it."""
        return {
            "files": self.files,
            "imported": self.imported,
            "by_format": dict(self.by_format),
            "skipped": [p.as_dict() for p in self.skipped],
            "skipped_count": self.skipped_count,
            "skipped_unlisted": self.skipped_unlisted,
            "skipped_reasons": dict(self.reasons.most_common()),
            "failed": [p.as_dict() for p in self.failed],
            "documents": list(self.documents),
        }

    def skip(self, problems: Skips) -> None:
        """Add the skipped entries of one file."""
        room = max(0, SHOWN_IN_ALL - len(self.skipped))
        self.skipped.extend(problems.shown[:room])
        self.skipped_count += problems.count
        for why, n in problems.reasons.items():
            _count(self.reasons, why, n)


@dataclass(slots=True)
class Skips:
    """The skipped entries of one file: the first SHOWN_PER_FILE, and counts of all."""

    path: str
    shown: list[Problem] = field(default_factory=list)
    count: int = 0
    reasons: collections.Counter[str] = field(default_factory=collections.Counter)

    def add(self, where: str, why: str) -> None:
        self.count += 1
        _count(self.reasons, why)
        if len(self.shown) < SHOWN_PER_FILE:
            self.shown.append(Problem(self.path, where, why))


def _count(reasons: collections.Counter[str], why: str, n: int = 1) -> None:
    if why in reasons or len(reasons) < REASONS:
        reasons[why] += n
    else:
        reasons[OTHER_REASONS] += n


def import_paths(
    store: Store,
    paths: Sequence[Path],
    *,
    format: str | None = None,
    on_file: Callable[[Path], None] | None = None,
    transform: Callable[[Interaction], Interaction] | None = None,
    shown_as: str | None = None,
) -> ImportReport:
    """Import every recording under `paths` into `store`, detecting each file's format unless
    `format` names one. A file that fails is reported and rolled back; the batch goes on.

    `shown_as` names the one file of `paths` in the report and as the interactions' source,
    for a file whose own path means nothing to the user (an upload saved to a temporary
    folder): no message then shows that folder.
    """
    forced = formats.reader(format) if format else None
    report = ImportReport()
    for path in formats.expand(paths, forced):
        if on_file is not None:
            on_file(path)
        name = shown_as if shown_as is not None else str(path)
        if forced is None and _is_openapi(path):
            _import_openapi(store, path, name, report, shown_as)
            continue
        reader = forced or formats.detect(path)
        if reader is None:
            unread = Skips(name)
            unread.add("", "not a recording in a format virt reads")
            report.skip(unread)
            continue
        report.files += 1
        ids: list[int] = []
        skips = Skips(name)
        named = transform
        if shown_as is not None:
            named = _renamed(shown_as, transform)
        try:
            for chunk in _batches(reader.read(path), skips, named):
                ids.extend(i for i, _ in store.insert_many(chunk))
        except ImportFormatError as e:
            _roll_back(store, ids)
            why = f"{e.why} (nothing imported from it)"
            report.failed.append(_scrubbed(Problem(name, e.where, why), path, shown_as))
            continue
        except BodyTooLarge as e:  # a bomb: never stored, nor kept encoded (see encoding)
            _roll_back(store, ids)
            why = f"{e}; refusing a possible decompression bomb (nothing imported from it)"
            where = f"the entry after the first {len(ids) + skips.count}"
            report.failed.append(_scrubbed(Problem(name, where, why), path, shown_as))
            continue
        if not ids and not skips.count:  # an empty file, or one with no entries: say so
            skips.add("", f"no interactions in it (read as {reader.name})")
        report.imported += len(ids)
        report.by_format[reader.name] += len(ids)
        if shown_as is not None:
            skips.shown = [_scrubbed(x, path, shown_as) for x in skips.shown]
            skips.reasons = collections.Counter(
                {_hide(why, path, shown_as): n for why, n in skips.reasons.items()}
            )
        report.skip(skips)
        report.ids.extend(ids)
    return report


def _is_openapi(path: Path) -> bool:
    """A cheap look at a file's first bytes: an OpenAPI 3 document (a top-level `openapi` key)
    is an API description, tried before the recording formats (HAR is JSON too)."""
    if not path.is_file():
        return False
    try:
        with path.open("rb") as f:
            return is_openapi(f.read(4096))
    except OSError:
        return False  # the recording formats say why it cannot be read


def _import_openapi(
    store: Store, path: Path, name: str, report: ImportReport, shown_as: str | None
) -> None:
    """Validate the OpenAPI document at `path` and store it (virt.schema.openapi); an invalid
    one is reported as failed, naming the JSON pointer and the rule, and nothing is stored."""
    try:
        data = read_file(path)
        api = load_openapi(data, name)
    except OpenApiError as e:
        why = str(e).removeprefix(f"{e.source}: ")
        problem = Problem(name, "", f"{why} (nothing stored)")
        report.failed.append(_scrubbed(problem, path, shown_as))
        return
    store.add_document("openapi", Path(name).name, data)
    report.files += 1
    report.documents.append(
        f"stored OpenAPI document {api.title} {api.version}: {len(api.operations())} operations"
    )


def files_to_import(paths: Sequence[Path], format: str | None = None) -> list[Path]:
    """The files an import of `paths` reads, in order; an unknown `format` fails here, before
    any database is opened."""
    forced = formats.reader(format) if format is not None else None
    return list(formats.expand(paths, forced))


class Importer:
    """An import into the database at `db`, as `virt import` runs it: the database is open (and
    the redaction key read) from construction to close(), so that they fail before any work."""

    def __init__(self, db: Path, config: ConfigFile, *, redact: bool = True) -> None:
        rules = RedactRules.from_config(config)  # a bad [redact] table fails before the open
        self.store = Store.open(db)
        self._transform: Callable[[Interaction], Interaction] | None = None
        if not redact:
            log.warning("importing raw traffic: secrets are written as they are (no redaction)")
            return
        try:
            self._transform = Redactor(secret_key(db), rules).interaction
        except BaseException:
            self.store.close()
            raise

    def run(
        self,
        files: Sequence[Path],
        *,
        format: str | None = None,
        on_file: Callable[[Path], None] | None = None,
    ) -> ImportReport:
        """Import `files` (see import_paths), secrets replaced unless redaction is off."""
        return import_paths(
            self.store, files, format=format, on_file=on_file, transform=self._transform
        )

    def close(self) -> None:
        self.store.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


def _renamed(
    name: str, transform: Callable[[Interaction], Interaction] | None
) -> Callable[[Interaction], Interaction]:
    def rename(interaction: Interaction) -> Interaction:
        interaction = replace(interaction, source=name, session=f"import:{name}")
        return transform(interaction) if transform is not None else interaction

    return rename


def _hide(text: str, path: Path, name: str) -> str:
    """`text` with `path` said as `name`, and its folder (a temporary one) not said at all."""
    folder = str(path.parent)
    text = text.replace(str(path), name)
    return text.replace(folder + os.sep, "").replace(folder, ".")


def _scrubbed(problem: Problem, path: Path, name: str | None) -> Problem:
    if name is None:
        return problem
    return Problem(name, _hide(problem.where, path, name), _hide(problem.why, path, name))


def _batches(
    items: Iterable[Interaction | Skipped],
    skips: Skips,
    transform: Callable[[Interaction], Interaction] | None,
) -> Iterator[list[tuple[Interaction, Keys]]]:
    batch: list[tuple[Interaction, Keys]] = []
    for n, item in enumerate(items):
        if isinstance(item, Skipped):
            skips.add(item.where, item.why)
            continue
        if transform is not None:
            try:
                item = transform(item)
            except UnredactableBody as e:  # its secrets would reach the database: not kept
                skips.add(f"entry {n}", f"{e} (not imported)")
                continue
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


def export_from(db: Path, format: str, path: Path, f: Filter | None = None) -> int:
    """export() from the database at `db`, opened read-only; an unknown `format` fails first."""
    formats.writer(format)
    store = Store.open(db, readonly=True)
    try:
        return export(store, format, path, f)
    finally:
        store.close()


def stored(store: Store, f: Filter, page: int = 500) -> Iterator[Interaction]:
    """Every interaction matching `f`, in recorded order, a page at a time."""
    after: int | None = None
    while True:
        rows = store.find(f, after=after, limit=page)
        yield from rows
        if len(rows) < page:
            return
        after = rows[-1].id
