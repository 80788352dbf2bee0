"""Recording formats: FORMATS and WRITERS registries by name, and detect(path).

Each module in _MODULES defines READER (and WRITER when virt can export the format).
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from virt.errors import ConfigError
from virt.formats.base import ImportFormatError, Item, Reader, Skipped, Writer

__all__ = [
    "FORMATS",
    "WRITERS",
    "ImportFormatError",
    "Item",
    "Reader",
    "Skipped",
    "Writer",
    "detect",
    "expand",
    "reader",
    "writer",
]

_MODULES = (
    # most specific sniffers first: detect() asks them in this order
    "mitmflows",
    "har",
    "hoverfly",
    "wiremock",
    "httpreplay",
    "govcr",
    "keploy",
    "nock",
    "betamax",
    "vcr",
)


def _load() -> tuple[dict[str, Reader], dict[str, Writer]]:
    readers: dict[str, Reader] = {}
    writers: dict[str, Writer] = {}
    for name in _MODULES:
        try:
            module = importlib.import_module(f"virt.formats.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"virt.formats.{name}":
                continue  # not written yet
            raise
        for r in getattr(module, "READERS", [module.READER] if hasattr(module, "READER") else []):
            readers[r.name] = r
        if hasattr(module, "WRITER"):
            writers[module.WRITER.name] = module.WRITER
    return readers, writers


FORMATS, WRITERS = _load()


def reader(name: str) -> Reader:
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(
            f"unknown format {name!r}", hint=f"known formats: {', '.join(sorted(FORMATS))}"
        ) from None


def writer(name: str) -> Writer:
    try:
        return WRITERS[name]
    except KeyError:
        raise ConfigError(
            f"cannot export to {name!r}", hint=f"export formats: {', '.join(sorted(WRITERS))}"
        ) from None


def detect(path: Path) -> Reader | None:
    """The first reader whose sniff claims `path`, or None."""
    for r in FORMATS.values():
        if r.sniff(path):
            return r
    return None


def expand(paths: Iterable[Path], forced: Reader | None = None) -> Iterator[Path]:
    """What to read under `paths`: files, walked in sorted order, hidden ones left out; and
    folders that a reader (`forced`, else any) claims whole, such as a WireMock root whose
    mappings and __files belong together and whose order spans files.
    """

    def claimed(folder: Path) -> bool:
        return forced.sniff(folder) if forced is not None else detect(folder) is not None

    for path in paths:
        if not path.is_dir():
            yield path
            continue
        for root, dirs, files in os.walk(path):
            if claimed(Path(root)):
                dirs[:] = []
                yield Path(root)
                continue
            dirs[:] = sorted(d for d in dirs if not d.startswith("."))
            for f in sorted(files):
                if not f.startswith("."):
                    yield Path(root) / f
