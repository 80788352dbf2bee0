"""Reading Hoverfly files: which files are simulations or journals, the pairs in one (schema
v1 to v5, a newer one refused by name) and the order they replay in (journal times, "sequence:N"
chains). What one pair stands for is pair.py's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

from virt.formats.base import ImportFormatError, Item, Skipped, head, load_json
from virt.formats.hoverfly.common import NAME, SEQUENCE, is_count
from virt.formats.hoverfly.pair import from_pair

NEWEST_SCHEMA = 5

_OBJECT_START = re.compile(rb"^\s*(\xef\xbb\xbf)?\s*\{")
_JOURNAL = re.compile(rb'"journal"\s*:\s*\[')
_PAIRS = re.compile(rb'"pairs"\s*:\s*\[')
_DATA = re.compile(rb'"data"\s*:\s*[\[{]')
_DATA_LIST = re.compile(rb'"data"\s*:\s*\[')
_SCHEMA = re.compile(rb'"schemaVersion"\s*:\s*"v\d')
_DESTINATION = re.compile(rb'"destination"\s*:')
_DELAY = re.compile(rb'"urlPattern"\s*:.*"delay"\s*:', re.DOTALL)
_VERSION = re.compile(r"v?(\d+)", re.ASCII)


class HoverflyReader:
    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        """A simulation ({"data": {"pairs": ...}}, or a v1 list) or a journal export."""
        try:
            if not path.is_file():
                return False
        except OSError:
            return False
        text = head(path)
        if not _OBJECT_START.match(text):
            return False
        if _JOURNAL.search(text):
            return bool(_DESTINATION.search(text))
        if not _DATA.search(text):
            return False
        if _PAIRS.search(text) or _SCHEMA.search(text):
            return True
        # v1 and older: "data" is the list of pairs (or of hoverctl delay settings)
        return bool(_DATA_LIST.search(text) and (_DESTINATION.search(text) or _DELAY.search(text)))

    def read(self, path: Path) -> Iterator[Item]:
        for item, _ in _entries(path):
            yield item


READER = HoverflyReader()


def inexact(path: Path) -> list[str]:
    """Where `path` uses a matcher that is not exact, or leaves a field out, each as
    "file: where: what"; such requests import as the literal value or the default."""
    return [f"{path}: {note}" for _, notes in _entries(path) for note in notes]


def _entries(path: Path) -> Iterator[tuple[Item, list[str]]]:
    doc = load_json(path)
    if not isinstance(doc, dict) or not ("journal" in doc or "data" in doc):
        # JSON that is neither is most likely a bodyFile (responses/), which forcing the format
        # on a folder's every file reaches
        yield Skipped("", 'not a Hoverfly simulation or journal (no "data" or "journal")'), []
        return
    if "journal" in doc:
        journal = doc["journal"] or []
        if not isinstance(journal, list):
            raise ImportFormatError(path, "journal", "expected a list")
        entries = [(f"journal[{i}]", e) for i, e in enumerate(journal)]
        times = [_time(e.get("timeStarted")) if isinstance(e, dict) else "" for _, e in entries]
        if all(times):
            # ISO 8601 UTC strings of one shape sort as the instants they name
            order = sorted(range(len(entries)), key=lambda i: times[i])
            entries, times = [entries[i] for i in order], [times[i] for i in order]
        if not entries:
            yield Skipped("journal", "the journal holds no entries"), []
        for (where, entry), when in zip(entries, times, strict=True):
            yield from_pair(path, where, entry, recorded_at=when)
        return
    _check_version(path, doc.get("meta"))
    data = doc["data"]
    if isinstance(data, list):
        pairs, prefix = data, "data"
    elif isinstance(data, dict):
        pairs, prefix = data.get("pairs") or [], "data.pairs"
        if not isinstance(pairs, list):
            raise ImportFormatError(path, prefix, "expected a list")
    else:
        raise ImportFormatError(path, "data", "expected an object or a list")
    if not pairs:
        yield Skipped(prefix, "the simulation holds no pairs"), []
    for i in _sequence_order(pairs):
        yield from_pair(path, f"{prefix}[{i}]", pairs[i])


def _check_version(path: Path, meta: Any) -> None:
    version = meta.get("schemaVersion") if isinstance(meta, dict) else None
    if not isinstance(version, str):
        return
    found = _VERSION.match(version.strip())
    if found and int(found.group(1)) > NEWEST_SCHEMA:
        raise ImportFormatError(
            path,
            "meta.schemaVersion",
            f"written by a newer Hoverfly schema ({version}; virt reads v1 to v{NEWEST_SCHEMA})",
            hint=f"export the simulation as schema v{NEWEST_SCHEMA}, or upgrade virt",
        )


def _sequence_order(pairs: list[Any]) -> list[int]:
    """Pair indexes with each "sequence:N" chain (Hoverfly's stateful capture) in state order,
    in the places its pairs take."""
    order = list(range(len(pairs)))
    chains: dict[str, list[tuple[int, int]]] = {}
    for i, pair in enumerate(pairs):
        request = pair.get("request") if isinstance(pair, dict) else None
        states = request.get("requiresState") if isinstance(request, dict) else None
        if not isinstance(states, dict):
            continue
        for key, value in states.items():
            if isinstance(key, str) and key.startswith(SEQUENCE) and is_count(value):
                chains.setdefault(key, []).append((i, int(value)))
                break
    for members in chains.values():
        places = [i for i, _ in members]
        for place, (i, _) in zip(places, sorted(members, key=lambda m: m[1]), strict=True):
            order[place] = i
    return order


def _time(value: Any) -> str:
    """A journal timestamp as ISO 8601 UTC with milliseconds, or "" when it is not one."""
    if not isinstance(value, str):
        return ""
    # Go writes up to nine fractional digits; Python reads six
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    except (ValueError, OverflowError):
        return ""
