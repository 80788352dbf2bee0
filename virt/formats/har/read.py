"""Reading HAR documents: which files are HAR, and the entries in one, streamed from JSON (plain,
BOM-prefixed or zlib-compressed .zhar) or loaded from YAML. What one entry holds is entry.py's."""

from __future__ import annotations

import codecs
import re
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any, ClassVar

import ijson
from ijson.common import ObjectBuilder

from virt.formats import yamlsafe
from virt.formats.base import ImportFormatError, Item, head
from virt.formats.har.common import NAME
from virt.formats.har.entry import item

_SUFFIXES = (".har", ".zhar", ".har.yaml", ".har.yml")
_ZLIB_MAGIC = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_LOG_OBJECT = re.compile(rb'\{\s*"log"\s*:\s*\{')
# ijson prefixes of one entry: "log.entries.item", or one key deeper for a document that wraps
# its log (mitmproxy's har_extractor fixture nests it under "test_response")
_ENTRY_PREFIX = re.compile(r"(?:([^.]+)\.)?log\.entries\.item")


class HarReader:
    """Reads HAR as JSON (plain, BOM-prefixed or zlib-compressed .zhar) or YAML, entry by entry."""

    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        lower = path.name.lower()
        if lower.endswith(_SUFFIXES):
            return True
        data = _plain_head(head(path))
        if lower.endswith((".yaml", ".yml")):
            return data.startswith(b"log:") and b"entries:" in data
        if not data.startswith(b"{"):
            return False
        if _LOG_OBJECT.match(data):
            return True
        # a bare entry with no log around it, as haralyzer's fixtures have
        return b'"startedDateTime"' in data and b'"request"' in data and b'"response"' in data

    def read(self, path: Path) -> Iterator[Item]:
        for where, entry in _entries(path):
            yield item(entry, where, path)


READER = HarReader()


# documents


def _plain_head(data: bytes) -> bytes:
    """The start of a HAR document's text: without a BOM, inflated if zlib-compressed."""
    data = data.removeprefix(codecs.BOM_UTF8)
    if data[:2] in _ZLIB_MAGIC:
        try:
            data = zlib.decompressobj().decompress(data, 4096)
        except zlib.error:
            return b""
    return data.removeprefix(codecs.BOM_UTF8).lstrip()


def _entries(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, entry) for every entry of the document at `path`, JSON read one entry at a time."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
    with f:
        try:
            start = f.read(4096)
            stream: IO[bytes] | _Inflated = f
            if start[:2] in _ZLIB_MAGIC:
                f.seek(0)
                stream = _Inflated(f)
                start = stream.peek(4096)
            elif path.name.lower().endswith(".zhar"):
                raise ImportFormatError(path, "", "expected zlib-compressed HAR (.zhar)")
            else:
                f.seek(0)
            if start.startswith(codecs.BOM_UTF8):
                stream.read(len(codecs.BOM_UTF8))
        except (OSError, ValueError) as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e}") from None
        first = start.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
        if path.name.lower().endswith((".yaml", ".yml")) or first not in (b"{", b"[", b""):
            yield from _yaml_entries(stream, path)
        else:
            yield from _json_entries(stream, path)


class _Inflated:
    """A zlib stream read as a file, so a .zhar streams like a .har (mitmproxy writes these)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._z = zlib.decompressobj()
        self._buffer = b""

    def peek(self, size: int) -> bytes:
        self._buffer += self._inflate(size)
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        want = sys.maxsize if size is None or size < 0 else size
        out, self._buffer = self._buffer[:want], self._buffer[want:]
        return out + self._inflate(want - len(out))

    def _inflate(self, want: int) -> bytes:
        out = bytearray()
        while len(out) < want and not self._z.eof:
            data = self._z.unconsumed_tail or self._raw.read(65536)
            if not data:
                raise ValueError("the zlib-compressed HAR ends early")
            try:
                out += self._z.decompress(data, min(want - len(out), 1 << 20))
            except zlib.error as e:
                raise ValueError(f"not valid zlib data: {e}") from e
        return bytes(out)


MAX_NESTING = 100
"""Containers nested in a HAR document at most (real ones nest about a dozen levels)."""
_ENTRY_DEPTH = 4
"""Path components of the deepest prefix that can hold an entry: wrapper.log.entries.item."""


def _json_entries(stream: IO[bytes] | _Inflated, path: Path) -> Iterator[tuple[str, Any]]:
    # Entries are built one at a time from parser events; everything else (pages, creator, a
    # bare entry) goes to `rest`, which is small, and is looked at once the document ends.
    rest = ObjectBuilder()
    entry: Any = None
    depth = index = 0
    wrapper = ""
    events = _events(stream)
    while True:
        try:
            prefix, kind, value = next(events)
        except StopIteration:
            break
        except ValueError as e:  # the parser's errors, bad UTF-8, a broken zlib stream, depth
            where = f"{wrapper}log.entries[{index}]" if entry is not None else ""
            raise ImportFormatError(path, where, str(e)) from None
        if entry is None:
            match = _ENTRY_PREFIX.fullmatch(prefix) if prefix is not None else None
            if match is None or kind in ("end_array", "map_key"):
                rest.event(kind, value)
                continue
            wrapper = f"{match.group(1)}." if match.group(1) else ""
            if kind not in ("start_map", "start_array"):  # a scalar where an entry belongs
                yield f"{wrapper}log.entries[{index}]", value
                index += 1
                continue
            entry, depth = ObjectBuilder(), 0
        entry.event(kind, value)
        depth += kind in ("start_map", "start_array")
        depth -= kind in ("end_map", "end_array")
        if depth == 0:
            yield f"{wrapper}log.entries[{index}]", entry.value
            entry = None
            index += 1
    yield from _document_entries(getattr(rest, "value", None), path, streamed=index > 0)


def _events(stream: IO[bytes] | _Inflated) -> Iterator[tuple[str | None, str, Any]]:
    """ijson.parse's (prefix, event, value), with the prefix None below the depth at which an
    entry can start. Raises ValueError, saying why, for what is not JSON or nests past
    MAX_NESTING.

    ijson.parse joins the whole path into every event's prefix: 50,000 nested arrays would
    cost gigabytes before the first event came out. The same walk over basic_parse joins only
    the short prefixes that can name an entry.
    """
    keys: list[str | None] = []

    def joined(parts: list[str | None]) -> str | None:
        return ".".join(p or "" for p in parts) if len(parts) <= _ENTRY_DEPTH else None

    events = ijson.basic_parse(stream, use_float=True)
    while True:
        try:
            event = next(events, None)
        except Exception as e:  # the parser's errors, bad UTF-8, a broken zlib stream
            raise ValueError(f"not valid JSON: {_first_line(e)}") from None
        if event is None:
            return
        kind, value = event
        if kind == "map_key":
            prefix = joined(keys[:-1])
            keys[-1] = value
        elif kind in ("start_map", "start_array"):
            prefix = joined(keys)
            keys.append(None if kind == "start_map" else "item")
            if len(keys) > MAX_NESTING:
                raise ValueError(f"JSON nested more than {MAX_NESTING} levels deep; refusing it")
        elif kind in ("end_map", "end_array"):
            keys.pop()
            prefix = joined(keys)
        else:
            prefix = joined(keys)
        yield prefix, kind, value


def _yaml_entries(stream: IO[bytes] | _Inflated, path: Path) -> Iterator[tuple[str, Any]]:
    """HAR serialised as YAML (Polly.JS and Cody recordings): loaded whole, then walked."""
    doc = yamlsafe.load(stream.read(), path)
    yield from _document_entries(doc, path, streamed=False)


def _document_entries(doc: Any, path: Path, *, streamed: bool) -> Iterator[tuple[str, Any]]:
    """The entries of a whole document (YAML), or of what is left once entries were streamed."""
    if isinstance(doc, dict) and "log" not in doc and "request" not in doc:
        inner = [(k, v) for k, v in doc.items() if isinstance(v, dict) and "log" in v]
        if len(inner) == 1:
            key, doc = inner[0]
            yield from _log_entries(doc["log"], f"{key}.log", path, streamed)
            return
    if isinstance(doc, dict) and "log" in doc:
        yield from _log_entries(doc["log"], "log", path, streamed)
    elif isinstance(doc, dict) and "request" in doc:
        yield "entry", doc  # a single entry with no log around it
    elif not streamed:
        raise ImportFormatError(
            path, "", "not a HAR document: expected an object with log.entries (or one entry)"
        )


def _log_entries(log: Any, where: str, path: Path, streamed: bool) -> Iterator[tuple[str, Any]]:
    if not isinstance(log, dict):
        raise ImportFormatError(path, where, "expected an object with entries")
    entries = log.get("entries", [])  # a log of pages only has nothing to import
    if not isinstance(entries, list):
        raise ImportFormatError(path, f"{where}.entries", "expected a list of entries")
    if not streamed:
        for i, entry in enumerate(entries):
            yield f"{where}.entries[{i}]", entry


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
