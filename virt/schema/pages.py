"""Pages: a collection answered page by page, consistently, beyond the pages recorded.

A route whose answers hold one list of objects (at the top, or under `data`, `items`,
`results`, ...) and whose requests say where and how much (`page`/`per_page`, `offset`/`limit`,
`starting_after`/`limit`, ...) is a window on one collection. The recorded pages place their
items in it; a recorded `total` says how long it is (else it ends at the last recorded item);
items past the recorded ones are the last recorded item with new ids that continue the
recorded ones. Every page is cut from that one collection, so an id is never on two pages,
and `has_more`, `next` and the page fields say what is true of it (virt.schema.paging reads
what a request asks and writes where a page stands).
"""

from __future__ import annotations

import bisect
import collections
import copy
import re
from collections.abc import Sequence
from typing import Any

from virt.normalize.canonical import NOT_JSON
from virt.schema import fill, leaves
from virt.schema.book import Recorded
from virt.schema.paging import (
    MAX_PAGE,
    MINTED,
    NEXT,
    TOTAL,
    Asked,
    Page,
    as_int,
    asked,
    cursor_in,
    tell,
)

LISTS = (
    "data",
    "items",
    "results",
    "records",
    "entries",
    "values",
    "objects",
    "list",
    "rows",
    "hits",
)


def list_path(body: Any) -> leaves.Path | None:
    """Where the answer holds its list of objects: the top, or one key of the top object."""
    if isinstance(body, list):
        return () if all(isinstance(i, dict) for i in body) else None
    if not isinstance(body, dict):
        return None
    found = [
        k for k, v in body.items() if isinstance(v, list) and all(isinstance(i, dict) for i in v)
    ]
    for name in LISTS:
        if name in found:
            return (name,)
    return (found[0],) if len(found) == 1 else None


_ID = re.compile(r"(_id|Id|ID)$")
"""How the name of an item's own id ends when it is not plain `id` (`user_id`, `userId`)."""

_Cursored = tuple[Recorded, Asked, Sequence[Any]]
"""A recorded page asked for by cursor, what it asked, and its items."""


class Collection:
    """The collection behind the recorded pages of one route."""

    def __init__(self, answers: Sequence[Recorded], where: leaves.Path) -> None:
        self.where = where
        self.items: dict[int, Any] = {}
        self._key: str | None = None
        """The key telling the items apart, once looked for ("" for none)."""
        self.total: int | None = None
        self.default_size: int | None = None
        self.base = 1
        self.cursors: dict[str, int] = {}
        """The opaque cursors the recorded pages handed out (in `next`), and where each leads."""
        self.ids: dict[str, int] = {}
        """The ids of the items placed, each as a cursor: where the item after it is."""
        pages = [r for r in answers if r.body is not NOT_JSON and list_path(r.body) == where]
        self.template: Recorded | None = pages[0] if pages else None
        if any(_query(r).get("page") == "0" for r in pages):
            self.base = 0
        cursored: list[_Cursored] = []
        for r in pages:
            query = _query(r)
            page_items = leaves.get(r.body, where) if where else r.body
            how = asked(query)
            if how is None or (how.cursor is None and how.offset is None and how.page is None):
                start: int | None = 0
            elif how.cursor is not None:
                cursored.append((r, how, page_items))
                continue
            else:
                start = self._start(how, len(page_items))
            self._place(start, page_items)
            self._note(r, how, page_items, start)
        # a page by cursor goes after the page that handed out its cursor, or after the item
        # its cursor names, once that is placed: in recorded order, each page looked at once.
        # A cursor nothing recorded handed out came from a page nobody recorded: its page goes
        # one page past the end of what is placed, the fewest items the recordings allow
        self.asked_at: set[int] = set()
        """Where recorded pages by cursor start: the page that ends there handed out a cursor,
        so it was not the last."""
        waiting: dict[str, list[_Cursored]] = {}
        order = {id(c[0]): n for n, c in enumerate(cursored)}
        ready = collections.deque(cursored)
        while ready or waiting:
            if not ready:
                orphan = min(
                    (c for cs in waiting.values() for c in cs), key=lambda c: order[id(c[0])]
                )
                assert orphan[1].cursor is not None
                gap = self.default_size or len(orphan[2]) or 1
                self.cursors[orphan[1].cursor] = self._end() + gap
                ready.extend(waiting.pop(orphan[1].cursor))
                continue
            r, how, page_items = ready.popleft()
            assert how.cursor is not None
            start = self._after(how.cursor)
            if start is None:
                waiting.setdefault(how.cursor, []).append((r, how, page_items))
                continue
            self.asked_at.add(start)
            new = self._place(start, page_items)
            handed = self._note(r, how, page_items, start)
            for key in (*new, *([handed] if handed else [])):
                ready.extend(waiting.pop(key, ()))
        nexts = {k for r in pages if isinstance(r.body, dict) for k in r.body if k.lower() in NEXT}
        self.unsaid = {k for k in nexts if any(k not in r.body for r in pages)}
        """The `next` keys a recorded page left out: the last page made leaves them out too."""
        known = self._end()
        self.length = max(self.total or 0, known) if self.total is not None else known

    def _end(self) -> int:
        """Where the placed collection ends: after its last item, or where a cursor leads."""
        return max([max(self.items) + 1 if self.items else 0, *self.cursors.values()])

    def _note(
        self, r: Recorded, how: Asked | None, page_items: Sequence[Any], start: int | None
    ) -> str | None:
        """Takes what a recorded page says of the collection (its size, a total); returns the
        cursor it handed out for the page after it, if it is a new one."""
        handed = None
        if self.default_size is None:
            self.default_size = how.size if how and how.size else (len(page_items) or None)
        if isinstance(r.body, dict):
            for key in r.body:
                if (
                    key.lower() in TOTAL
                    and isinstance(r.body[key], int)
                    and not isinstance(r.body[key], bool)
                ):
                    self.total = max(self.total or 0, r.body[key])
                if key.lower() in NEXT and start is not None:
                    cursor = cursor_in(r.body[key], how)
                    if cursor is not None and cursor not in self.cursors:
                        self.cursors[cursor] = start + len(page_items)
                        handed = cursor
        return handed

    def _start(self, how: Asked, got: int) -> int:
        size = how.size or self.default_size or got or 1
        if how.offset is not None:
            return max(how.offset, 0)
        if how.page is not None:
            return max(how.page - self.base, 0) * size
        return 0

    def _after(self, cursor: str | None) -> int | None:
        """Where `cursor` leads: after the page that handed it out, or after the item whose id
        it is; None when nothing says."""
        if cursor in self.cursors:
            return self.cursors[cursor]
        if cursor is None:
            return None
        if cursor.startswith(MINTED):
            position = as_int(cursor[len(MINTED) :])
            return None if position is None else max(position, 0)
        return self.ids.get(cursor)

    def cursor_to(self, position: int) -> str:
        """An opaque cursor that leads to `position`: one the recordings handed out for it,
        else one minted, which says it is virt's."""
        for cursor, where in self.cursors.items():
            if where == position:
                return cursor
        return f"{MINTED}{position}"

    def _place(self, start: int | None, page_items: Sequence[Any]) -> list[str]:
        """Puts a recorded page's items in place; returns the ids of those newly placed."""
        if start is None:
            return []
        new = []
        for i, item in enumerate(page_items):
            if start + i in self.items:
                continue
            self.items[start + i] = item
            if isinstance(item, dict) and "id" in item:
                key = str(item["id"])
                if key not in self.ids:
                    self.ids[key] = start + i + 1
                    new.append(key)
        return new

    def item(self, position: int, seed: bytes) -> Any:
        """The item at `position`: recorded, else the last recorded one with a new id."""
        if position in self.items:
            return self.items[position]
        known = sorted(self.items)
        base = copy.deepcopy(self.items[known[-1]]) if known else {}
        key = self._id_key()
        if isinstance(base, dict) and key in base:
            ids = [i.get(key) for i in self.items.values() if isinstance(i, dict)]
            numbers = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
            if numbers and len(numbers) == len(ids):
                # the made-up items in order, past the largest id (gaps between recorded
                # pages included): never an id that is on another page
                rank = position - bisect.bisect_left(known, position)
                base[key] = max(numbers) + rank + 1
            else:
                base[key] = fill.like(base[key], seed + str(position).encode())
        return base

    def _id_key(self) -> str | None:
        """The key that tells the items apart: `id`, else one named like `user_id` or `userId`
        that every placed item has, each with a value of its own."""
        if self._key is not None:
            return self._key or None
        objects = [i for i in self.items.values() if isinstance(i, dict)]
        self._key = "id" if any("id" in o for o in objects) else ""
        for name in [] if self._key or not objects else [n for n in objects[0] if _ID.search(n)]:
            values = [str(o.get(name)) for o in objects if name in o]
            if len(values) == len(objects) and len(set(values)) == len(values):
                self._key = name
                break
        return self._key or None

    def page(self, how: Asked | None, seed: bytes) -> tuple[Any, Page]:
        """The answer for `how`, cut from the template; also where the page sits."""
        assert self.template is not None
        how = how or Asked(None, None, None, None, {})
        size = min(how.size or self.default_size or 10, MAX_PAGE)
        if how.cursor is not None:
            start = self._after(how.cursor)
            start = self.length if start is None else start
        else:
            start = self._start(how, size)
        end = min(start + size, self.length)
        items = [self.item(p, seed) for p in range(start, end)]
        # a page that ends where a recorded page by cursor starts handed out that cursor
        last = end >= self.length and not (end > start and end in self.asked_at)
        body = copy.deepcopy(self.template.body)
        if self.where:
            leaves.put(body, self.where, items)
        else:
            body = items
        if isinstance(body, dict):
            tell(body, how, last, start, size, items, self.cursor_to(end))
            if last:
                for key in self.unsaid:
                    body.pop(key, None)
        return body, Page(how, start, size, last, self.length, self.base, items)


def _query(r: Recorded) -> dict[str, str]:
    return {k.split(":", 1)[1]: v for k, v in r.values.items() if k.startswith("query:")}
