"""The failure message of a test whose requests virt could not answer: each request, the
recording nearest to it and how they differ, field by field."""

from __future__ import annotations

import json
from typing import Any, Protocol
from urllib.parse import urlsplit

_SHOWN = 10
"""Misses written out in full; the rest are counted."""
_ROUTES_SHOWN = 5
"""Recorded routes of a host listed when a miss has no recording of its own route."""


class Recordings(Protocol):
    """What the report looks up in the recordings (through virt's admin API)."""

    def interaction(self, id: int) -> dict[str, Any] | None: ...

    def routes(self, host: str) -> list[str]: ...


def miss_report(
    misses: list[dict[str, Any]],
    db: str,
    url: str | None,
    recordings: Recordings,
    unlisted: int = 0,
) -> str:
    """The report for `misses` (journal entries of one test), in pytest's assertion style;
    `unlisted` counts misses of the test that have left the journal since."""
    n = len(misses) + unlisted
    lines = [f"virt: {n} request{'s' if n != 1 else ''} had no recording in {db}"]
    for entry in misses[:_SHOWN]:
        lines += ["", *_entry(entry, recordings)]
    if len(misses) > _SHOWN:
        lines += ["", f"... and {len(misses) - _SHOWN} more"]
    if unlisted:
        lines += [
            "",
            f"{unlisted} of them no longer in virt's journal, which keeps the last 1000 answers: "
            "the test sent more requests after them",
        ]
    lines += [
        "",
        "Record what is missing with --virt-mode=once, or the whole test with --virt-mode=record.",
    ]
    if url:
        lines.append(f"While the run lasts, {url}/__virt/journal?match=miss lists every miss.")
    return "\n".join(lines)


def _entry(entry: dict[str, Any], recordings: Recordings) -> list[str]:
    door = entry.get("door") or "?"
    out = [f"E   {entry.get('method')} {entry.get('url')}  ->  {entry.get('status')} ({door} door)"]
    if entry.get("why"):
        out.append(f"E     why: {entry['why']}")
    explain = entry.get("explain") or {}
    comparison = explain.get("comparison") if isinstance(explain, dict) else None
    if not isinstance(comparison, dict):
        split = urlsplit(str(entry.get("url")))
        routes = recordings.routes(split.netloc) or recordings.routes(split.hostname or "")
        out.append("E     nearest recording: none of this route")
        if routes:
            out.append(f"E     recorded on {split.netloc}:")
            out += [f"E       {route}" for route in routes[:_ROUTES_SHOWN]]
            if len(routes) > _ROUTES_SHOWN:
                out.append(f"E       ... and {len(routes) - _ROUTES_SHOWN} more routes")
        else:
            out.append(f"E     nothing is recorded for {split.netloc}")
        return out
    nearest = (explain.get("nearest") or [None])[0]
    found = recordings.interaction(nearest) if isinstance(nearest, int) else None
    title = f"#{nearest}" if nearest is not None else "a recording of this route"
    if found is not None:
        request, response = found.get("request", {}), found.get("response", {})
        title += f" {request.get('method')} {request.get('url')} -> {response.get('status')}"
    score = comparison.get("score")
    if isinstance(score, int | float):
        title += f" (score {score:.2f})"
    out.append(f"E     nearest recording: {title}")
    differs = comparison.get("differs") or {}
    if not differs:
        out.append("E     differs in no field the comparison shows")
    for field, values in differs.items():
        out.append(f"E     {field}: {_difference(values)}")
    return out


def _difference(values: Any) -> str:
    if isinstance(values, dict) and "sent" in values and "recorded" in values:
        return f"sent {_short(values['sent'])}, recorded {_short(values['recorded'])}"
    return _short(values)


def _short(value: Any, limit: int = 200) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    text = repr(text) if isinstance(value, str) else text
    return text if len(text) <= limit else text[: limit - 3] + "..."
