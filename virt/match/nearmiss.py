"""Near misses: how each recording nearest to an unanswered request differs, field by field."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from virt.match.cache import Cache
from virt.match.caps import first, shorten
from virt.match.rules import Policy
from virt.match.score import Comparison, Side, compare, shown
from virt.model import Interaction, Request
from virt.normalize import query_pairs
from virt.normalize.canonical import body_form
from virt.normalize.uri import path_form
from virt.store import Summary

_COMPARED_BODIES = 1 << 20
"""Bytes of two bodies past which the report does not work out whether they mean the same."""


def diff(request: Request, recorded: Request) -> dict[str, Any]:
    """The fields in which `recorded` differs from `request`, each with what was recorded.

    An empty dict would mean the two are the same request; a near miss always differs somewhere.
    Values are shortened and lists of names cut to their first entries (see virt.match.caps),
    with `truncated` and the full counts when anything was left out.
    """
    out: dict[str, Any] = {}
    if request.method.upper() != recorded.method.upper():
        out["method"] = {"sent": request.method, "recorded": recorded.method}
    if request.path != recorded.path:
        out["path"] = {"sent": shorten(request.path), "recorded": shorten(recorded.path)}
    sent_q, rec_q = dict(query_pairs(request.query)), dict(query_pairs(recorded.query))
    if query_pairs(request.query) != query_pairs(recorded.query):
        query: dict[str, Any] = {}
        for part, names in (
            ("missing", (k for k in rec_q if k not in sent_q)),
            ("unexpected", (k for k in sent_q if k not in rec_q)),
            ("different", (k for k in sent_q if k in rec_q and sent_q[k] != rec_q[k])),
        ):
            kept, total = first(sorted(names))
            query[part] = [shorten(k) for k in kept]
            if total > len(kept):
                query[f"{part}_total"] = total
                query["truncated"] = True
        out["query"] = query
    if request.body != recorded.body:
        # canonical forms of large bodies cost a parse each: the report says so instead
        small = len(request.body) + len(recorded.body) <= _COMPARED_BODIES
        same_meaning = body_form(request) == body_form(recorded) if small else None
        out["body"] = {
            "sent_bytes": len(request.body),
            "recorded_bytes": len(recorded.body),
            "same_when_canonical": same_meaning,
            "recorded": shorten(recorded.body.decode("utf-8", "replace")),
        }
    return out


def with_segments(side: Side, request: Request) -> Side:
    """`side` with every segment of the path as a field, not only identifiers: for ranking
    recordings of other routes by how close their path is."""
    extra = {
        f"path[{i}]": segment
        for i, segment in enumerate(path_form(request.path).split("/"))
        if segment and f"path[{i}]" not in side.fields
    }
    return Side({**side.fields, **extra}, side.data) if extra else side


def report(
    request: Request, sent: Side, policy: Policy, pool: Iterable[int], cache: Cache, limit: int
) -> list[dict[str, Any]]:
    """The recordings of `pool` closest to `request`, best first, at most `limit`: ranked by
    the scorer with every path segment counted (so `/simple/six/` comes before a `.whl`
    download for `/simple/attrs/`), bodies included; each with its summary, its similarity, a
    field-by-field diff and its comparison with `sent` under `policy`."""
    whole = with_segments(sent, request)
    scored: list[tuple[float, int, Interaction, Comparison]] = []
    for id in pool:
        recorded = cache.get(id)
        side = cache.side(id, recorded.request) if recorded is not None else None
        if recorded is None or side is None:
            continue  # deleted since it was ranked
        rank = compare(whole, with_segments(side, recorded.request), policy)
        score = rank.score if rank.failed is None else -1.0
        scored.append((score, id, recorded, compare(sent, side, policy)))
    scored.sort(key=lambda s: (-s[0], s[1]))
    out = []
    for score, _, recorded, comparison in scored[:limit]:
        entry: dict[str, Any] = Summary.of(recorded).as_dict()
        entry["similarity"] = shown(max(score, 0.0), 4)
        entry["diff"] = diff(request, recorded.request)
        entry["comparison"] = comparison.as_dict()
        out.append(entry)
    return out
