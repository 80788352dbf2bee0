"""Uploads to POST /__virt/import: received to a temporary file within a size limit, then read."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from virt.limits import size_text
from virt.model import Interaction
from virt.store import Store
from virt.transfer import ImportReport, import_paths


class TooLarge(Exception):
    """The upload is larger than the limit."""

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"an import is at most {size_text(limit)}: raise the limit with --max-body or "
            "VIRT_MAX_BODY, or import the file with virt import, which takes any size"
        )


def check_filename(filename: str) -> str | None:
    """Why `filename` cannot name an upload, or None. The pattern of the query parameter
    already limits it to letters, digits, `.`, `_` and `-`; `.` and `..` name folders."""
    if not filename.strip("."):
        return f"filename {filename!r}: must hold a letter, a digit, _ or -, as in api.har"
    return None


def check_declared_size(content_length: str | None, limit: int) -> bool:
    """Whether a Content-Length says the body is over `limit` (one that is no number is left
    to the server, which refuses it)."""
    declared = (content_length or "").strip()
    # a number of 19 digits or more is past any limit (and int() refuses 4,300 digits)
    return (
        declared.isascii() and declared.isdigit() and (len(declared) > 18 or int(declared) > limit)
    )


def check_declared(content_length: str | None, limit: int) -> None:
    """Refuse an upload by its Content-Length, before reading a byte of it."""
    if check_declared_size(content_length, limit):
        raise TooLarge(limit)


@contextmanager
def upload_folder() -> Iterator[Path]:
    """A private temporary folder for one upload, removed afterwards whatever happens."""
    with tempfile.TemporaryDirectory(prefix="virt-import-") as tmp:
        yield Path(tmp)


async def receive(chunks: AsyncIterator[bytes], dest: Path, limit: int) -> int:
    """Write `chunks` to `dest`, counting as they come: past `limit` bytes, TooLarge, whether
    or not the client said how much it would send (chunked uploads have no Content-Length)."""
    size = 0
    with dest.open("wb") as out:
        async for chunk in chunks:
            size += len(chunk)
            if size > limit:
                raise TooLarge(limit)
            out.write(chunk)
    return size


def import_file(
    db: Path,
    path: Path,
    filename: str,
    format: str | None,
    clean: Callable[[Interaction], Interaction],
) -> ImportReport:
    """Import an uploaded file in a worker thread, with a connection of its own."""
    store = Store.open(db, create=False)
    try:
        # reports and sources name the upload, never the temporary folder it was written to
        return import_paths(store, [path], format=format, transform=clean, shown_as=filename)
    finally:
        store.close()
