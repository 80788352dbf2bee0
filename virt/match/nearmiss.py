"""Near misses: how each recording nearest to an unanswered request differs, field by field."""

from __future__ import annotations

from typing import Any

from virt.model import Request
from virt.normalize import query_pairs
from virt.normalize.canonical import body_form

_SHOWN = 80
"""Characters of a differing value shown in the report."""


def _short(text: str) -> str:
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


def diff(request: Request, recorded: Request) -> dict[str, Any]:
    """The fields in which `recorded` differs from `request`, each with what was recorded.

    An empty dict would mean the two are the same request; a near miss always differs somewhere.
    """
    out: dict[str, Any] = {}
    if request.method.upper() != recorded.method.upper():
        out["method"] = {"sent": request.method, "recorded": recorded.method}
    if request.path != recorded.path:
        out["path"] = {"sent": _short(request.path), "recorded": _short(recorded.path)}
    sent_q, rec_q = dict(query_pairs(request.query)), dict(query_pairs(recorded.query))
    if query_pairs(request.query) != query_pairs(recorded.query):
        out["query"] = {
            "missing": sorted(k for k in rec_q if k not in sent_q),
            "unexpected": sorted(k for k in sent_q if k not in rec_q),
            "different": sorted(k for k in sent_q if k in rec_q and sent_q[k] != rec_q[k]),
        }
    if request.body != recorded.body:
        same_meaning = body_form(request) == body_form(recorded)
        out["body"] = {
            "sent_bytes": len(request.body),
            "recorded_bytes": len(recorded.body),
            "same_when_canonical": same_meaning,
            "recorded": _short(recorded.body.decode("utf-8", "replace")),
        }
    return out
