"""The formats virt reads and writes, by name, in the order detect() asks them."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from virt.errors import ConfigError
from virt.formats import (
    betamax,
    govcr,
    har,
    hoverfly,
    httpreplay,
    keploy,
    mitmflows,
    nock,
    vcr,
    wiremock,
)
from virt.formats.base import Reader, Writer

__all__ = ["FORMATS", "WRITERS", "detect", "expand", "reader", "writer"]

# Plain imports and one list: a missing or misspelled module fails at import, loudly, and
# import-linter sees every edge. Most specific sniffers first: detect() asks them in order.
_READERS: tuple[Reader, ...] = (
    mitmflows.READER,
    har.READER,
    hoverfly.READER,
    wiremock.READER,
    httpreplay.READER,
    govcr.READER,
    keploy.READER,
    nock.READER,
    *betamax.READERS,
    vcr.READER,
)
_WRITERS: tuple[Writer, ...] = (har.WRITER, hoverfly.WRITER, wiremock.WRITER, vcr.WRITER)

FORMATS: dict[str, Reader] = {r.name: r for r in _READERS}
"""Every reader by the name --format accepts, in the order detect() asks them."""
WRITERS: dict[str, Writer] = {w.name: w for w in _WRITERS}
"""Every writer by the name `virt export --format` accepts."""


def reader(name: str) -> Reader:
    """The reader called `name`; a misspelled name fails with the list of known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise ConfigError(
            f"unknown format {name!r}", hint=f"known formats: {', '.join(sorted(FORMATS))}"
        ) from None


def writer(name: str) -> Writer:
    """The writer called `name`; a misspelled name fails with the list of known ones."""
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
