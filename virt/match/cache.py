"""Cache: what the engine keeps in memory between requests, each part bounded in size."""

from __future__ import annotations

import collections
from collections.abc import Callable
from dataclasses import dataclass, field

from virt.match.learn import LEARN_SAMPLE, learn_volatile
from virt.match.score import Side
from virt.memo import Memo
from virt.model import Interaction, Request, RequestPattern, Response
from virt.normalize.route import route_key
from virt.store import Origin, Store
from virt.store.reads import merged

MAX_PATTERNS = 1024
"""Recordings with a URL pattern (stubs) tried per method at most, in recorded order."""
_PATTERN_METHODS = 64
"""Methods whose stubs with a URL pattern are kept in memory (a client may invent methods)."""
_SIDE_CACHE = 20_000
_SIDE_CACHE_FIELDS = 2_000_000
"""Parsed fields kept in memory in all: a few recordings with 100,000-key bodies fill it."""
_VOLATILE_CACHE = 10_000
"""Route groups whose learned volatile fields are kept."""
_ROW_CACHE_BYTES = 160 * 1024 * 1024
"""Recorded interactions kept in memory (bodies, plus _ROW_OVERHEAD each for the objects that
hold them): replay reads the same ones over and over, and 100,000 of the usual size fit."""
_ROW_OVERHEAD = 1024
_GROUP_CACHE = 1024
"""Route groups whose first candidates are kept."""
_SAME_PATH_CACHE = 256
"""Recorded paths whose candidates are kept (each up to MAX_CANDIDATES requests)."""
_IDS_CACHE = 200_000
"""Keys whose recorded ids are kept in memory."""
_SEEN_ROWS = 400_000
"""Ids read once while the row cache was full, remembered for a second read."""
_ROW_CACHE_BODY = 256 * 1024
"""Larger responses are read from the database each time."""
WARM_CHUNK = 128
"""Recordings one step of warming reads: about 2 ms on the loop, between requests."""

Stub = tuple[int, RequestPattern, Request]


class Cache:
    """Reads of one Store, kept: ids per key, interactions, parsed fields, volatile fields per
    route group, stubs with a URL pattern per method, and the recorded origins.

    `clear` drops it all (recordings were edited); `recorded` drops what one new recording
    makes stale. A part that outgrows its bound starts afresh.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self._origins: list[Origin] | None = None
        self._sides: dict[int, Side] = {}
        self._side_fields = 0
        self._rows: collections.OrderedDict[int, tuple[Interaction, int]] = (
            collections.OrderedDict()
        )
        self._row_bytes = 0
        self._ids: Memo[str, list[int]] = Memo(_IDS_CACHE, again=True)
        self._last: tuple[int, Interaction] | None = None
        """The row `exact_ids` read last."""
        self._seen_rows: set[int] = set()
        """Ids read once while the row cache was full (see `_keep`)."""
        self._volatile: dict[str, frozenset[str]] = {}
        self._stubs: dict[str, list[Stub]] = {}
        self._groups: dict[str, list[tuple[int, Request]]] = {}
        self._same_path: Memo[tuple[str, str, str, str], list[tuple[int, Request]]] = Memo(
            _SAME_PATH_CACHE
        )
        self._epoch = 0
        """Bumped whenever kept reads go stale: a warm-up begun before stops."""
        self._warm = _Warming(epoch=-1)

    def group(self, route: str, limit: int, near: Request) -> list[tuple[int, Request]]:
        """The candidates of a route group for `near`: its recordings of the very path first
        (asked each time, one seek), then the group's first ones (kept in memory: every
        request of the route scores against them)."""
        rows = self._groups.get(route)
        if rows is None:  # the engine always asks for the same number
            rows = self.store.group_rows(route, limit)
            if len(self._groups) >= _GROUP_CACHE:
                self._groups = {}
            self._groups[route] = rows
        key = (route, near.host, near.path, near.method)
        same = self._same_path.get(key)
        if same is None:
            same = self.store.same_path(route, near, limit)
            if same:  # a path recorded: asked again and again (one path for every POST)
                self._same_path.put(key, same)
        return merged(same, rows, limit)

    def ids(self, key: str, read: Callable[[str], list[int]]) -> list[int]:
        """The recorded ids under an exact or canonical key; a found list is kept in memory
        (passthrough and admin edits drop it), a miss is asked again each time."""
        ids = self._ids.get(key)
        if ids is None:
            ids = read(key)
            if ids:
                self._ids.put(key, ids)
        return ids

    def exact_ids(self, key: str) -> list[int]:
        """The recorded ids under exact key `key`, as `ids` keeps them; a key read from the
        database brings its first recording along into the row cache."""
        ids = self._ids.get(key)
        if ids is not None:
            return ids
        ids, first = self.store.exact_first(key)
        if first is not None and first.id is not None:
            self._last = (first.id, first)  # what `get` is asked for next: kept there
            self._ids.put(key, ids)
        return ids

    def get(self, id: int) -> Interaction | None:
        """Interaction `id`, from memory when it was read before (admin edits drop the copy)."""
        kept = self._rows.get(id)
        if kept is not None:
            return kept[0]
        last = self._last
        if last is not None and last[0] == id:
            self._last = None
            self._keep(id, last[1])
            return last[1]
        found = self.store.get(id)
        if found is None:
            return None
        self._keep(id, found)
        return found

    def _keep(self, id: int, found: Interaction) -> None:
        """Keep a row read from the database. Once the cache is full, a row takes the place
        of the oldest only when it is read the second time lately, as a Memo made with
        `again` does, and for the same reason: rows asked for once each (a million recordings
        asked at random) would swap the whole cache, for no hits and long collections."""
        size = _size(found)
        if size > _ROW_CACHE_BODY or id in self._rows:
            return
        rows = self._rows
        if self._row_bytes + size > _ROW_CACHE_BYTES:
            seen = self._seen_rows
            if id not in seen:
                if len(seen) >= _SEEN_ROWS:
                    seen.clear()
                seen.add(id)
                return
            seen.discard(id)
            while rows and self._row_bytes + size > _ROW_CACHE_BYTES:  # the oldest go first
                self._row_bytes -= rows.popitem(last=False)[1][1]
        rows[id] = (found, size)
        self._row_bytes += size

    def side(self, id: int, request: Request | None = None) -> Side | None:
        """The comparable fields of recording `id`, parsed once and cached."""
        side = self._sides.get(id)
        if side is not None:
            return side
        if request is None:
            found = self.store.get(id)
            if found is None:
                return None
            request = found.request
        side = Side.of(request)
        if len(self._sides) >= _SIDE_CACHE or self._side_fields > _SIDE_CACHE_FIELDS:
            self._sides, self._side_fields = {}, 0
        self._sides[id] = side
        self._side_fields += len(side.fields) + 1
        return side

    def volatile(self, route: str) -> frozenset[str]:
        """Fields learned as volatile in a route group, from its first recordings and the
        shapes of their answers."""
        found = self._volatile.get(route)
        if found is None:
            sample = [
                (id, s)
                for id, r in self.store.group(route, LEARN_SAMPLE)
                if (s := self.side(id, r)) is not None
            ]

            def response(i: int) -> Response | None:
                # read only for pairs that could teach something: most routes have none
                recorded = self.get(sample[i][0])
                return None if recorded is None else recorded.response

            if len(self._volatile) >= _VOLATILE_CACHE:
                self._volatile = {}
            found = self._volatile[route] = learn_volatile([s for _, s in sample], response)
        return found

    def stubs(self, method: str) -> list[Stub]:
        """The recordings of `method` made from a stub with a URL pattern, in recorded order."""
        stubs = self._stubs.get(method)
        if stubs is None:
            stubs = self.store.patterned(method, MAX_PATTERNS)
            if len(self._stubs) >= _PATTERN_METHODS:
                self._stubs = {}
            self._stubs[method] = stubs
        return stubs

    def origins(self) -> list[Origin]:
        """Recorded upstreams."""
        if self._origins is None:
            self._origins = self.store.origins()
        return self._origins

    def warm(self, chunk_size: int = WARM_CHUNK) -> bool:
        """Read the next `chunk_size` recordings into memory, in id order; False when there is
        nothing more to do.

        Replay then answers a recording asked for the first time from memory, as it answers
        one asked before, instead of reading the database. Warming never evicts: it
        stops where the row cache is full. The exact keys' ids are kept only once every
        recording was read (a key's sequence must be whole), and a change to the recordings
        meanwhile stops it.
        """
        warm = self._warm
        if warm.epoch != self._epoch:
            if warm.epoch >= 0:  # the recordings changed under it: what it gathered is stale
                return False
            warm = self._warm = _Warming(epoch=self._epoch)
        if warm.done:
            return False
        chunk = self.store.scan(warm.after, chunk_size)
        rows = self._rows
        for interaction, exact, current in chunk:
            id = interaction.id
            assert id is not None
            warm.after = id
            size = _size(interaction)
            if id not in rows and size <= _ROW_CACHE_BODY:
                if self._row_bytes + size > _ROW_CACHE_BYTES:
                    warm.done = True  # full: the rest is read as it is asked for
                    return False
                rows[id] = (interaction, size)
                self._row_bytes += size
            if current and exact is not None and len(warm.ids) <= _IDS_CACHE:
                warm.ids.setdefault(exact, []).append(id)
        if len(chunk) < chunk_size:
            warm.done = True
            if len(warm.ids) + len(self._ids) <= _IDS_CACHE:
                for key, ids in warm.ids.items():
                    if self._ids.get(key) is None:
                        self._ids.put(key, ids)
            warm.ids = {}
            return False
        return True

    def clear(self) -> None:
        """Drop every kept read."""
        self._epoch += 1
        self._origins = None
        self._sides, self._side_fields = {}, 0
        self._rows, self._row_bytes = collections.OrderedDict(), 0
        self._ids.clear()
        self._seen_rows.clear()
        self._last = None
        self._volatile = {}
        self._stubs = {}
        self._groups = {}
        self._same_path.clear()

    def recorded(self, interaction: Interaction) -> None:
        """Drop what `interaction`, just written, makes stale; keep its origin."""
        self._epoch += 1
        origin = Origin(
            interaction.request.scheme, interaction.request.host, interaction.request.port
        )
        if self._origins is not None and origin not in self._origins:
            self._origins = sorted([*self._origins, origin])
        self._volatile.pop(route_key(interaction.request), None)
        self._groups.pop(route_key(interaction.request), None)
        self._same_path.clear()
        self._last = None
        self._ids.clear()  # its keys may now have one more recording in their sequence


@dataclass(slots=True)
class _Warming:
    """How far a warm-up of the cache got, for the recordings as they were at `epoch`."""

    epoch: int
    after: int = 0
    done: bool = False
    ids: dict[str, list[int]] = field(default_factory=dict)


def _size(interaction: Interaction) -> int:
    """What a kept row counts against _ROW_CACHE_BYTES: its bodies and _ROW_OVERHEAD."""
    return len(interaction.response.body) + len(interaction.request.body) + _ROW_OVERHEAD
