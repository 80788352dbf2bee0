"""Paging: what a request asks of a collection, and how an answer says where it stands.

A request names a page size (`limit`, `per_page`, `take`, ...) and where to start: a page
number, an offset, or a cursor (the id of the item before, or an opaque token a page handed
out). An answer says where it stands with `has_more`, `next`, `total`, its own page fields and
a `Link` header. This module reads the first and writes the second; virt.schema.pages cuts the
page itself from the recorded collection.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

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
            if option == "from" and (role == "offset") != (as_int(lowered[option][1]) is not None):
                continue  # `from` is an offset when a number (Elasticsearch), else a cursor
            names[role], values[role] = lowered[option]
            break
    if not names:
        return None
    return Asked(
        as_int(values.get("size")),
        as_int(values.get("offset")),
        as_int(values.get("page")),
        str(values["cursor"]) if "cursor" in values else None,
        names,
    )


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


def tell(
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


def cursor_in(value: Any, how: Asked | None) -> str | None:
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


def as_int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None
