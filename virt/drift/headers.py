"""Header drift: only the headers a client acts on (media type, caching, rate limits,
deprecation and sunset); the rest (dates, ids, lengths) change on every answer."""

from __future__ import annotations

import re

from virt.drift.finding import Finding, Kind, example
from virt.model import Headers, header

_RATE_LIMIT = re.compile(r"(?:x-)?(?:rate-?limit|ratelimit)(?:-[a-z-]+)?|retry-after", re.I)
"""Their values count down on every call: only their presence is compared."""
_VALUED = ("cache-control", "deprecation", "sunset")


def _media_type(value: str | None) -> str | None:
    return None if value is None else value.split(";", 1)[0].strip().lower() or None


def _cache(value: str) -> str:
    return ", ".join(sorted(d.strip().lower() for d in value.split(",") if d.strip()))


def compare(recorded: Headers, live: Headers) -> list[Finding]:
    """How the headers that matter differ between a recorded and a live answer."""
    findings: list[Finding] = []
    was = _media_type(header(recorded, "content-type"))
    now = _media_type(header(live, "content-type"))
    if was != now:
        findings.append(
            Finding(
                Kind.CONTENT_TYPE_CHANGED,
                "header:Content-Type",
                f"Content-Type was {was or 'absent'}, is now {now or 'absent'}",
                None if was is None else example(was),
                None if now is None else example(now),
            )
        )
    for name in _VALUED:
        old, new = header(recorded, name), header(live, name)
        if name == "cache-control":
            old = None if old is None else _cache(old)
            new = None if new is None else _cache(new)
        findings.extend(_presence(name, old, new, compare_values=True))
    names = {k.lower() for k, _ in recorded} | {k.lower() for k, _ in live}
    for name in sorted(n for n in names if _RATE_LIMIT.fullmatch(n)):
        findings.extend(
            _presence(name, header(recorded, name), header(live, name), compare_values=False)
        )
    return findings


def _presence(
    name: str, old: str | None, new: str | None, *, compare_values: bool
) -> list[Finding]:
    where = f"header:{name.title()}"
    shown = name.title()
    if old is None and new is not None:
        return [Finding(Kind.HEADER_ADDED, where, f"{shown} is new", None, example(new))]
    if old is not None and new is None:
        return [Finding(Kind.HEADER_REMOVED, where, f"{shown} is gone", example(old), None)]
    if compare_values and old != new and old is not None and new is not None:
        return [Finding(Kind.HEADER_CHANGED, where, f"{shown} changed", example(old), example(new))]
    return []
