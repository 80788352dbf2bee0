"""How much a comparison, a miss report and a journal entry keep: the limits, in one place.

A request may be any size; what virt says about it is not. Reports show the first fields that
differ and count the rest, and show long values cut short with their length, so a 100,000-key
body costs a few kilobytes of report, not megabytes per request kept in the journal.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TypeVar

FIELDS_SHOWN = 50
"""Differing (or ignored, or echoed) fields a comparison and a report keep; the rest are counted."""
VALUE_SHOWN = 80
"""Characters of a value shown in a report; longer values are cut, their length said."""
URL_SHOWN = 2048
"""Characters of a request URL that a miss report and the journal keep."""

T = TypeVar("T")


def shorten(text: str, limit: int = VALUE_SHOWN) -> str:
    """`text`, or its first `limit` characters and how long it was: `abc... (12,345 characters)`."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text):,} characters)"


def first(items: Iterable[T], limit: int = FIELDS_SHOWN) -> tuple[list[T], int]:
    """The first `limit` of `items`, and how many there were in all."""
    kept: list[T] = []
    total = 0
    for item in items:
        total += 1
        if len(kept) < limit:
            kept.append(item)
    return kept, total
