"""The one documented miss response: status 599, X-Virt-Match: miss, and a JSON report.

599 is outside every registered status code, so no real API sends it for success or failure:
a test that sees it knows virt had no recording, never that the dependency said no.
"""

from __future__ import annotations

from typing import Any

import orjson

from virt.match.caps import URL_SHOWN, shorten
from virt.match.result import Match
from virt.match.score import shown
from virt.model import Request
from virt.normalize.route import template
from virt.normalize.uri import path_form
from virt.replay.reply import MATCH_HEADER, Reply

MISS_STATUS = 599
MISS_REASON = "Virt Miss"


def miss_reply(
    request: Request, nearest: list[dict[str, Any]], why: str = "", route: str | None = None
) -> Reply:
    """The miss response for `request`, naming the nearest recordings by method, host and path,
    each with how it differs (its `diff`), like WireMock's near-miss report; `route` is the
    recorded route (its learned template) when the request's route is known."""
    report: dict[str, Any] = {
        "error": "virt: no recording matches this request",
        "why": shorten(_json_safe(why), URL_SHOWN)
        or "no recorded request has this method, URL, query and body",
        "request": {"method": request.method, "url": shorten(_json_safe(request.url), URL_SHOWN)},
        **({"route": shorten(_json_safe(route), URL_SHOWN)} if route else {}),
        "nearest": nearest,
        "hint": "record this call (virt record, or virt serve --passthrough), "
        "or check the URL, query and body your client sends",
    }
    body = orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n"
    return Reply(
        status=MISS_STATUS,
        reason=MISS_REASON,
        headers=(
            ("Content-Type", "application/json"),
            ("Content-Length", str(len(body))),
            (MATCH_HEADER, "miss"),
        ),
        body=body,
    )


def _json_safe(text: str) -> str:
    """`text` with non-UTF-8 bytes (surrogate-escaped) shown as \\xNN, which JSON can hold."""
    return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def why_missed(
    request: Request, match: Match, threshold: float, nearest: list[dict[str, Any]]
) -> str:
    """One line saying why no recording answered `request`, for the journal, the log and the
    miss report: what the fallback refused, or how close the nearest recording came and in
    what it differs, or that nothing of the kind was recorded."""
    refused = match.fallback or {}
    if "refused" in refused:
        target = refused["route"] or "this request"
        return f"no recording matches, and no answer is made up for {target}: {refused['refused']}"
    best = match.comparison
    if best is not None and best.failed:
        return f"the nearest recording of this route is ruled out: {best.failed}"
    if best is not None:
        fields = ", ".join(sorted(best.differs)[:3]) or "nothing that counts"
        more = f" and {best.differing - 3} more" if best.differing > 3 else ""
        return (
            f"the nearest recording of this route scores {shown(best.score, 2):.2f}, under the "
            f"threshold {threshold:.2f}: it differs in {fields}{more}"
        )
    route = f"{request.method.upper()} {template(path_form(request.path))}"
    if nearest:
        return f"nothing was recorded for {route} on this host; the nearest are of other routes"
    return f"nothing was recorded for {route} on this host"
