"""Pages: a collection answered page by page, consistently, beyond the pages recorded.

A route whose answers hold one list of objects (at the top, or under `data`, `items`,
`results`, ...) and whose requests say where and how much (`page`/`per_page`, `offset`/`limit`,
`starting_after`/`limit`, ...) is a window on one collection. The recorded pages place their
items in it; a recorded `total` says how long it is (else it ends at the last recorded item);
items past the recorded ones are the last recorded item with new ids that continue the
recorded ones. Every page is cut from that one collection, so an id is never on two pages,
and `has_more`, `next` and the page fields say what is true of it.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from virt.normalize.canonical import NOT_JSON
from virt.schema import fill, leaves
from virt.schema.book import Recorded, RouteProfile

SIZE = (
    "limit",
    "per_page",
    "page_size",
    "pagesize",
    "page[size]",
    "size",
    "first",
    "max_results",
    "count",
    "top",
    "$top",
    "take",
)
PAGE = ("page", "page[number]", "pagenumber", "page_number")
OFFSET = ("offset", "skip", "start", "$skip", "page[offset]", "from")
CURSOR = (
    "starting_after",
    "after",
    "cursor",
    "page[after]",
    "page_token",
    "pagetoken",
    "from",
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
MORE = ("has_more", "hasmore", "has_next", "hasnext", "more")
NEXT = (
    "next",
    "next_page",
    "nextpage",
    "next_url",
    "nexturl",
    "next_cursor",
    "nextcursor",
    "next_page_token",
    "nextpagetoken",
)
TOTAL = ("total", "total_count", "totalcount", "total_results", "totalresults")
MINTED = "virt-position-"
"""How an opaque cursor virt made up begins (the position it leads to follows)."""
MAX_PAGE = 1_000
"""Largest page made: a client asking for a million items gets this many."""


@dataclass(frozen=True, slots=True)
class Asked:
    """Where in the collection a request asks to start, and how many."""

    size: int | None
    offset: int | None
    page: int | None
    cursor: str | None
    names: Mapping[str, str]
    """The query parameter used for each role: size, page, offset, cursor."""


def asked(query: Mapping[str, Any]) -> Asked | None:
    """The paging a request asks for, None when its query names none."""
    lowered = {k.lower(): (k, v) for k, v in query.items()}
    names: dict[str, str] = {}
    values: dict[str, Any] = {}
    for role, options in (("size", SIZE), ("page", PAGE), ("offset", OFFSET), ("cursor", CURSOR)):
        for option in options:
            if option not in lowered:
                continue
            if option == "from" and (role == "offset") != (_int(lowered[option][1]) is not None):
                continue  # `from` is an offset when a number (Elasticsearch), else a cursor
            names[role], values[role] = lowered[option]
            break
    if not names:
        return None
    return Asked(
        _int(values.get("size")),
        _int(values.get("offset")),
        _int(values.get("page")),
        str(values["cursor"]) if "cursor" in values else None,
        names,
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


class Collection:
    """The collection behind the recorded pages of one route."""

    def __init__(self, profile: RouteProfile, where: leaves.Path) -> None:
        self.where = where
        self.items: dict[int, Any] = {}
        self.total: int | None = None
        self.default_size: int | None = None
        self.base = 1
        self.cursors: dict[str, int] = {}
        """The opaque cursors the recorded pages handed out (in `next`), and where each leads."""
        pages = [
            r for r in profile.answers() if r.body is not NOT_JSON and list_path(r.body) == where
        ]
        self.template: Recorded | None = pages[0] if pages else None
        if any(_query(r).get("page") == "0" for r in pages):
            self.base = 0
        cursored = []
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
        while cursored:  # each after the page whose cursor it sent, or whose last item it named
            waiting = []
            for r, how, page_items in cursored:
                start = self._after(how.cursor)
                if start is None:
                    waiting.append((r, how, page_items))
                else:
                    self._place(start, page_items)
                    self._note(r, how, page_items, start)
            if len(waiting) == len(cursored):
                for r, how, page_items in waiting:  # nothing says where: counted, not placed
                    self._note(r, how, page_items, None)
                break
            cursored = waiting
        nexts = {k for r in pages if isinstance(r.body, dict) for k in r.body if k.lower() in NEXT}
        self.unsaid = {k for k in nexts if any(k not in r.body for r in pages)}
        """The `next` keys a recorded page left out: the last page made leaves them out too."""
        known = max(self.items) + 1 if self.items else 0
        self.length = max(self.total or 0, known) if self.total is not None else known

    def _note(
        self, r: Recorded, how: Asked | None, page_items: Sequence[Any], start: int | None
    ) -> None:
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
                    cursor = _cursor_in(r.body[key], how)
                    if cursor is not None:
                        self.cursors.setdefault(cursor, start + len(page_items))

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
        if cursor is not None and cursor.startswith(MINTED):
            return _int(cursor[len(MINTED) :])
        for position, item in self.items.items():
            if isinstance(item, dict) and str(item.get("id")) == cursor:
                return position + 1
        return None

    def cursor_to(self, position: int) -> str:
        """An opaque cursor that leads to `position`: one the recordings handed out for it,
        else one minted, which says it is virt's."""
        for cursor, where in self.cursors.items():
            if where == position:
                return cursor
        return f"{MINTED}{position}"

    def _place(self, start: int | None, page_items: Sequence[Any]) -> None:
        if start is None:
            return
        for i, item in enumerate(page_items):
            self.items.setdefault(start + i, item)

    def item(self, position: int, seed: bytes) -> Any:
        """The item at `position`: recorded, else the last recorded one with a new id."""
        if position in self.items:
            return self.items[position]
        known = sorted(self.items)
        base = copy.deepcopy(self.items[known[-1]]) if known else {}
        if isinstance(base, dict) and "id" in base:
            ids = [i.get("id") for i in self.items.values() if isinstance(i, dict)]
            numbers = [i for i in ids if isinstance(i, int) and not isinstance(i, bool)]
            if numbers and len(numbers) == len(ids):
                base["id"] = max(numbers) + (position - len(known) + 1)
            else:
                base["id"] = fill.like(base["id"], seed + str(position).encode())
        return base

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
        last = end >= self.length
        body = copy.deepcopy(self.template.body)
        if self.where:
            leaves.put(body, self.where, items)
        else:
            body = items
        if isinstance(body, dict):
            _tell(body, how, last, start, size, items, self.cursor_to(end))
            if last:
                for key in self.unsaid:
                    body.pop(key, None)
        return body, Page(how, start, size, last, self.length, self.base, items)


@dataclass(frozen=True, slots=True)
class Page:
    """Where a page sits in its collection."""

    how: Asked
    start: int
    size: int
    last: bool
    length: int
    base: int
    """The number of the first page: 1, or 0 when the recordings counted from 0."""
    items: list[Any]

    def link(self, recorded: str) -> str | None:
        """A recorded Link header made true of this page: `next` to the next page (none on the
        last), `prev` to the one before (none on the first), `first` and `last` by the
        collection's length, each keeping the recorded URL with its paging parameters set
        anew; None when no link is left."""
        out = []
        for url, params in _LINK.findall(recorded):
            rel = _REL.search(params)
            name = rel.group(1).lower() if rel else ""
            target = self._target(name)
            if target is None:
                continue  # no such page
            new = _with_query(url, self.how, target, self.size, self.items) if target >= 0 else url
            out.append(f"<{new}>{params}")
        return ", ".join(out) or None

    def _target(self, rel: str) -> int | None:
        """The start of the page `rel` names, -1 to keep the recorded URL, None for none."""
        if rel == "next":
            return None if self.last else self.start + self.size
        if rel in ("prev", "previous"):
            return None if self.start == 0 else max(self.start - self.size, 0)
        if rel == "first":
            return 0
        if rel == "last":
            return max((self.length - 1) // self.size * self.size, 0) if self.length else 0
        return -1


_LINK = re.compile(r"<([^>]*)>((?:\s*;\s*[^;,]+)*)")
_REL = re.compile(r"""rel\s*=\s*"?([^";,\s]+)""", re.IGNORECASE)


def _with_query(url: str, how: Asked, start: int, size: int, items: list[Any]) -> str:
    """`url` with its paging parameters set to the page starting at `start`."""
    parts = urlsplit(url)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    names = how.names
    page_name = names.get("page") or next((k for k in query if k.lower() in PAGE), None)
    size_name = names.get("size") or next((k for k in query if k.lower() in SIZE), None)
    offset_name = names.get("offset") or next((k for k in query if k.lower() in OFFSET), None)
    cursor_name = names.get("cursor") or next((k for k in query if k.lower() in CURSOR), None)
    base = 0 if query.get(page_name or "", "") == "0" else 1
    if page_name is not None:
        query[page_name] = str(start // size + base)
    elif offset_name is not None:
        query[offset_name] = str(start)
    elif cursor_name is not None and items and isinstance(items[-1], dict):
        query[cursor_name] = str(items[-1].get("id"))
    if size_name is not None:
        query[size_name] = str(size)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _tell(
    body: dict[str, Any],
    how: Asked,
    last: bool,
    start: int,
    size: int,
    items: list[Any],
    cursor: str,
) -> None:
    """Make the page's own fields true: has_more, next, and the page, size and offset."""
    for key in list(body):
        lowered = key.lower()
        if lowered in MORE and isinstance(body[key], bool):
            body[key] = not last
        elif lowered in NEXT:
            body[key] = None if last else _next(body[key], how, start, size, items, cursor)
        elif (
            lowered in ("page", "page_number", "pagenumber")
            and isinstance(body[key], int)
            and how.page is not None
        ):
            body[key] = how.page
        elif lowered in ("per_page", "page_size", "pagesize", "limit", "size") and isinstance(
            body[key], int
        ):
            body[key] = size
        elif (
            lowered in ("offset", "skip", "start")
            and isinstance(body[key], int)
            and how.offset is not None
        ):
            body[key] = start


def as_recorded(page: Any, recorded: Any) -> Any:
    """`page` with its next-page link as the recording had it, for checking its shape: the
    last page's null `next` is the truth, even when no recorded page was the last."""
    if not isinstance(page, dict) or not isinstance(recorded, dict):
        return page
    return {k: recorded[k] if k.lower() in NEXT and k in recorded else v for k, v in page.items()}


def _next(recorded: Any, how: Asked, start: int, size: int, items: list[Any], cursor: str) -> Any:
    """The next page's link or cursor, in the form the recording gave it: the last item's id
    where the items have ids, else `cursor`, an opaque one that leads there."""
    last_id = items[-1].get("id") if items and isinstance(items[-1], dict) else None
    if not isinstance(recorded, str):
        return last_id if recorded is not None or last_id is not None else recorded
    if not _is_link(recorded):
        return str(last_id) if last_id is not None else cursor  # a bare cursor
    parts = urlsplit(recorded)
    query = dict(parse_qsl(parts.query, keep_blank_values=True))
    names = how.names
    if "page" in names:
        query[names["page"]] = str((how.page or 0) + 1)
    elif "offset" in names:
        query[names["offset"]] = str(start + size)
    elif "cursor" in names:
        query[names["cursor"]] = str(last_id) if last_id is not None else cursor
    if "size" in names:
        query[names["size"]] = str(size)
    return urlunsplit(parts._replace(query=urlencode(query)))


def _is_link(value: str) -> bool:
    """Whether a recorded `next` is a URL (else a bare cursor, which may end in base64's =)."""
    return "?" in value or value.startswith(("/", "http://", "https://"))


def _cursor_in(value: Any, how: Asked | None) -> str | None:
    """The cursor a recorded `next` hands out: itself when bare, else its URL's cursor
    parameter; None when it holds none."""
    if not isinstance(value, str) or not value:
        return None
    if not _is_link(value):
        return value
    query = dict(parse_qsl(urlsplit(value).query, keep_blank_values=True))
    name = (how.names.get("cursor") if how else None) or next(
        (k for k in query if k.lower() in CURSOR), None
    )
    return query.get(name) if name else None


def _query(r: Recorded) -> dict[str, str]:
    return {k.split(":", 1)[1]: v for k, v in r.values.items() if k.startswith("query:")}


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
