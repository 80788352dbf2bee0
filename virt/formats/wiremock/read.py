"""Reading WireMock recordings: which files and folders are WireMock's, the mappings under them,
and the order they replay in (insertionIndex, file name, scenario chains). What one mapping
stands for is mapping.py's."""

from __future__ import annotations

import os
import re
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from virt.formats.base import ImportFormatError, Item, Skipped, head, load_json
from virt.formats.wiremock.common import BODY_DIRS, NAME, STARTED
from virt.formats.wiremock.mapping import from_mapping

_OBJECT_START = re.compile(rb"^\s*(\xef\xbb\xbf)?\s*\{")
_MAPPINGS = re.compile(rb'"mappings"\s*:\s*\[')
_REQUEST = re.compile(rb'"request"\s*:\s*\{')
_WIREMOCK_KEYS = re.compile(
    rb'"(?:url"\s*:\s*"/|urlPath"|urlPattern"|urlPathPattern"|bodyPatterns"|equalTo"|'
    rb'bodyFileName"|insertionIndex"|scenarioName"|base64Body"|jsonBody")'
)
# structural keys of other formats that share "request": VCR, Betamax, HAR, Hoverfly
_FOREIGN_KEYS = re.compile(
    rb'"(?:interactions|http_interactions|recorded_with|httpVersion|startedDateTime|pairs|'
    rb'journal)"\s*:'
)


class WireMockReader:
    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        """A mapping file, a `mappings` folder, or a WireMock root (a folder with `mappings`);
        never a body file under `__files` (or `_files`/`files` beside `mappings`)."""
        try:
            if path.is_dir():
                return path.name == "mappings" or (path / "mappings").is_dir()
            if not path.is_file() or _in_body_dir(path):
                return False
        except OSError:
            return False
        text = head(path)
        if not _OBJECT_START.match(text) or _FOREIGN_KEYS.search(text):
            return False
        if _MAPPINGS.search(text):
            return True
        return bool(_REQUEST.search(text) and _WIREMOCK_KEYS.search(text))

    def read(self, path: Path) -> Iterator[Item]:
        """A mapping file's interactions, or, for a folder, those of every mapping file under
        it, one file set (`mappings` folder) at a time, each set in recorded order."""
        for entry in _ordered_entries(path):
            yield entry.item


READER = WireMockReader()


def inexact(path: Path) -> list[str]:
    """Where `path` (a file or folder) uses a matcher that is not an exact value, each as
    "file: where: what"; such requests import as the matcher's literal value."""
    return [f"{e.source}: {note}" for e in _ordered_entries(path) for note in e.loose]


@dataclass(slots=True)
class _Entry:
    item: Item
    source: Path
    where: str
    loose: tuple[str, ...]
    file_order: tuple[Any, ...]
    insertion: float
    scenario: str | None
    required: str | None
    new_state: str | None


def _ordered_entries(path: Path) -> Iterator[_Entry]:
    if path.is_dir():
        for files in _file_sets(path):
            entries = [e for f in files for e in _file_entries(f)]
            for e in entries:
                if isinstance(e.item, Skipped):  # say which file of the folder
                    where = e.source.relative_to(path).as_posix()
                    e.item = Skipped(
                        f"{where}: {e.item.where}" if e.item.where else where, e.item.why
                    )
            yield from _in_recorded_order(entries)
    else:
        yield from _in_recorded_order(list(_file_entries(path)))


def _file_sets(root: Path) -> Iterator[list[Path]]:
    """The JSON files under `root`, grouped by folder; body folders and hidden ones left out."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in BODY_DIRS)
        group = [here / f for f in files if f.endswith(".json") and not f.startswith(".")]
        if group:
            yield sorted(group, key=lambda p: _natural(p.name))


def _is_body_dir(path: Path, name: str) -> bool:
    if name == "__files":
        return True
    return name in BODY_DIRS and (path.parent / "mappings").is_dir()


def _in_body_dir(path: Path, *, loosely: bool = False) -> bool:
    """Under __files (or _files/files beside mappings; any of the three when `loosely`)."""
    for parent in path.parents:
        if parent.name == "mappings":
            return False
        if parent.name in BODY_DIRS and (loosely or _is_body_dir(parent, parent.name)):
            return True
    return False


def _natural(name: str) -> tuple[Any, ...]:
    """Sort key that puts "2-user.json" before "10-user.json"."""
    parts = re.split(r"(\d+)", name, flags=re.ASCII)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _file_entries(path: Path) -> Iterator[_Entry]:
    try:
        doc = load_json(path)
    except ImportFormatError:
        if not _in_body_dir(path, loosely=True):
            raise
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("mappings"), list):
        mappings: list[tuple[str, Any]] = [
            (f"mappings[{i}]", m) for i, m in enumerate(doc["mappings"])
        ]
    elif isinstance(doc, dict) and "request" in doc:
        mappings = [("", doc)]
    else:
        # JSON that is no mapping is most likely a body: WireMock roots keep them beside the
        # mappings too, and forcing the format on a folder's every file reaches them
        yield _passed_over(path, "", 'not a WireMock mapping (no "request" or "mappings")')
        return
    if not mappings:
        yield _passed_over(path, "mappings", "the file holds no mappings")
    for position, (where, mapping) in enumerate(mappings):
        yield _entry(path, where, mapping, (*_natural(path.name), position))


def _passed_over(path: Path, where: str, why: str) -> _Entry:
    return _Entry(
        Skipped(where, why), path, where, (), _natural(path.name), float("inf"), None, None, None
    )


def _entry(path: Path, where: str, mapping: Any, file_order: tuple[Any, ...]) -> _Entry:
    at = f"{where}." if where else ""
    if not isinstance(mapping, dict):
        raise ImportFormatError(path, where or "mapping", "expected an object")
    index = mapping.get("insertionIndex")
    insertion = float("inf")
    if isinstance(index, int | float) and not isinstance(index, bool) and abs(index) < 2**53:
        insertion = float(index)
    scenario = mapping.get("scenarioName")
    required = mapping.get("requiredScenarioState")
    new_state = mapping.get("newScenarioState")
    item, loose = from_mapping(path, at, mapping)
    return _Entry(
        item,
        path,
        where or "mapping",
        loose,
        file_order,
        insertion,
        scenario if isinstance(scenario, str) else None,
        required if isinstance(required, str) else None,
        new_state if isinstance(new_state, str) else None,
    )


def _in_recorded_order(entries: list[_Entry]) -> list[_Entry]:
    """By insertionIndex, then file order; each scenario's mappings in chain order, in the
    places its mappings take."""
    ordered = sorted(entries, key=lambda e: (e.insertion, e.file_order))
    scenarios: dict[str, list[int]] = {}
    for index, e in enumerate(ordered):
        if e.scenario is not None and e.required is not None:
            scenarios.setdefault(e.scenario, []).append(index)
    for places in scenarios.values():
        members = [ordered[i] for i in places]
        depth = _state_depths(members)
        chained = sorted(
            range(len(members)), key=lambda k: (depth.get(members[k].required or "", len(depth)), k)
        )
        for place, k in zip(places, chained, strict=True):
            ordered[place] = members[k]
    return ordered


def _state_depths(members: list[_Entry]) -> dict[str, int]:
    """Steps from "Started" to each scenario state, following required -> new transitions."""
    moves: dict[str, list[str]] = {}
    for e in members:
        if e.required is not None and e.new_state is not None:
            moves.setdefault(e.required, []).append(e.new_state)
    depth = {STARTED: 0}
    queue = deque([STARTED])
    while queue:
        state = queue.popleft()
        for nxt in moves.get(state, []):
            if nxt not in depth:
                depth[nxt] = depth[state] + 1
                queue.append(nxt)
    return depth
