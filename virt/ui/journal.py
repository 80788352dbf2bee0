"""The live journal page and a request explained: what was asked, how virt answered, and for a
miss the recordings it came closest to, field by field."""

from __future__ import annotations

import contextlib
import json
import shlex
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse

from virt.admin.state import AdminState, State, check_token
from virt.formats.base import request_from_url
from virt.match.journal import Served
from virt.match.result import MatchKind
from virt.normalize.route import template
from virt.normalize.uri import path_form
from virt.ui.web import SECURITY_HEADERS, UI, fragment, page

router = APIRouter(prefix=UI, dependencies=[Depends(check_token)])

KINDS = tuple(k.value for k in MatchKind)
SHOWN = 200
"""Journal entries one page lists; the journal itself keeps the last 1000."""
KEPT = 1000
"""Entries looked through for a filter or an entry: all the journal keeps."""

Kind = Annotated[str | None, Query(pattern=r"^[a-z]{0,20}$")]
Text = Annotated[str | None, Query(max_length=500)]


def _filters(
    kind: str | None, host: str | None, method: str | None, path: str | None
) -> dict[str, str]:
    return {
        k: v for k, v in {"kind": kind, "host": host, "method": method, "path": path}.items() if v
    }


def _chosen(state: AdminState, filters: dict[str, str], after: int = 0) -> list[Served]:
    """The newest entries that pass `filters`, above seq `after`, at most SHOWN."""
    method = filters.get("method", "").upper()
    host = filters.get("host", "").lower()
    path = filters.get("path", "")
    out = []
    for entry in state.engine.journal.entries(limit=KEPT, match=filters.get("kind")):
        if entry.seq <= after:
            break
        if method and entry.method.upper() != method:
            continue
        parts = urlsplit(entry.url)
        if host and host not in (parts.hostname or "") and host != parts.netloc.lower():
            continue
        if path and path not in parts.path:
            continue
        out.append(entry)
        if len(out) >= SHOWN:
            break
    return out


@router.get("", response_class=HTMLResponse)
@router.get("/", response_class=HTMLResponse, include_in_schema=False)
@router.get("/journal", response_class=HTMLResponse, include_in_schema=False)
async def journal_page(
    state: State, kind: Kind = None, host: Text = None, method: Text = None, path: Text = None
) -> HTMLResponse:
    """The web page: the requests served, newest first, updated as they come."""
    filters = _filters(kind, host, method, path)
    entries = _chosen(state, filters)
    counts = state.engine.journal.counts()
    return page(
        "journal.html",
        view="journal",
        kinds=KINDS,
        counts={k: counts.get(k, 0) for k in KINDS},
        total=sum(counts.values()),
        filters=filters,
        rows=fragment("_journal_rows.html", entries=entries),
        last=entries[0].seq if entries else _newest(state),
        started=state.engine.journal.started,
    )


def _newest(state: AdminState) -> int:
    newest = state.engine.journal.entries(limit=1)
    return newest[0].seq if newest else 0


@router.get("/journal/live", include_in_schema=False)
async def journal_live(
    state: State,
    after: Annotated[int, Query(ge=0)] = 0,
    kind: Kind = None,
    host: Text = None,
    method: Text = None,
    path: Text = None,
) -> JSONResponse:
    """What the page polls: the rows newer than `after` (escaped HTML) and the counts."""
    entries = _chosen(state, _filters(kind, host, method, path), after)
    counts = state.engine.journal.counts()
    response = JSONResponse(
        {
            "rows": fragment("_journal_rows.html", entries=entries),
            "counts": {k: counts.get(k, 0) for k in KINDS},
            "total": sum(counts.values()),
            "last": entries[0].seq if entries else max(after, _newest(state)),
        }
    )
    response.headers.update(SECURITY_HEADERS)
    return response


@router.get("/journal/{seq}", response_class=HTMLResponse)
async def entry_page(request: Request, state: State, seq: int) -> HTMLResponse:
    """One request served: how it was matched; for a miss or a made-up answer, the nearest
    recordings field by field, a virt.toml rule and a curl command that records an answer."""
    found = next((e for e in state.engine.journal.entries(limit=KEPT) if e.seq == seq), None)
    if found is None:
        return page(
            "missing.html",
            status=404,
            view="journal",
            what=f"journal entry {seq}",
            why=f"the journal keeps the last {KEPT} requests served, since this virt started",
        )
    explain = found.explain or {}
    nearest: list[dict[str, Any]] = []
    asked = None
    with contextlib.suppress(ValueError):  # a URL the journal shortened: no nearest then
        asked = request_from_url(found.method, found.url)
    if asked is not None and found.match in ("miss", "fallback", "fuzzy"):
        # the candidates matching scored when it served the request, best first, then the
        # recordings of the same host and path, ranked by the same scorer
        ranked = [i for i in explain.get("nearest", ()) if isinstance(i, int)]
        nearest = state.engine.nearest(asked, limit=3, ranked=ranked)
    origin = f"http://{request.headers.get('host', '127.0.0.1')}"
    return page(
        "entry.html",
        view="journal",
        entry=found,
        explain=explain,
        comparison=explain.get("comparison"),
        nearest=nearest,
        rule=_rule(found, nearest) if asked is not None else "",
        curl=_curl(found, origin),
    )


def _rule(entry: Served, nearest: list[dict[str, Any]]) -> str:
    """A virt.toml route that makes the differences with the nearest recording not count."""
    parts = urlsplit(entry.url)
    differs: list[str] = []
    for candidate in nearest[:1]:
        differs = sorted((candidate.get("comparison") or {}).get("differs", {}))
    lines = [
        "[[route]]",
        f"name = {_toml(entry.method.upper() + ' ' + template(path_form(parts.path or '/')))}",
        f"method = {_toml(entry.method.upper())}",
        f"host = {_toml(parts.hostname or '')}",
        f"path = {_toml(template(path_form(parts.path or '/')))}",
    ]
    if differs:
        lines.append("ignore = [" + ", ".join(_toml(d) for d in differs) + "]")
    else:
        lines.append("threshold = 0.8")
    return "\n".join(lines) + "\n"


def _toml(text: str) -> str:
    """`text` as a TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(text, ensure_ascii=False)


def _curl(entry: Served, origin: str) -> str:
    """A curl command that adds a recording answering `entry`'s request (edit its response)."""
    body = {
        "request": {"method": entry.method.upper(), "url": entry.url},
        "response": {
            "status": 200,
            "headers": [["content-type", "application/json"]],
            "body": "{}",
        },
        "tags": ["added-from-ui"],
    }
    return (
        f"curl -X POST {shlex.quote(origin + '/__virt/interactions')} "
        "-H 'Content-Type: application/json' "
        f"--data-binary {shlex.quote(json.dumps(body, ensure_ascii=False))}"
    )
