"""The admin API: a FastAPI app mounted at /__virt/ on the direct door.

Everything here reads and writes the recordings database and nothing else: no path on the
server is ever read or written on a client's say-so, and no code is run.
"""

from __future__ import annotations

import asyncio
import hmac
import io
import re
import shutil
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as FastAPIPath
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from virt import formats
from virt.admin import payloads as p
from virt.admin.access import browser_refusal, upload_refusal
from virt.admin.limit import BodyLimit
from virt.admin.upload import (
    TooLarge,
    check_declared,
    check_filename,
    import_file,
    receive,
    upload_folder,
)
from virt.errors import StoreReadOnly, VirtError
from virt.formats.base import request_from_url, response_from, with_body
from virt.limits import DEFAULT_MAX_BODY
from virt.match.engine import Engine
from virt.match.rules import Rules
from virt.model import Interaction, iso_utc
from virt.normalize import keys
from virt.store import Filter, Store
from virt.transfer import export

PREFIX = "/__virt"
InteractionId = Annotated[int, FastAPIPath(ge=1, le=2**63 - 1, description="Interaction id.")]
_bearer = HTTPBearer(auto_error=False, description="The token given with --admin-token.")
_NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"model": p.Error, "description": "No interaction with this id."}
}


def create_admin(
    engine: Engine,
    *,
    token: str | None = None,
    rules_source: str | None = None,
    redact: Callable[[Interaction], Interaction] | None = None,
    host: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
) -> FastAPI:
    """The admin app. Routes keep the /__virt/ prefix: the replay app hands requests over as is.

    With a `token`, every route but health and ready requires `Authorization: Bearer <token>`.
    Without one, they refuse what a web page could send (see virt.admin.access): a Host that
    is not this machine or `host` (the --host virt listens on), another site's Origin.
    `max_body` (--max-body, as at both doors) bounds the file POST /__virt/import takes, and
    every other request body.
    Interactions added, replaced or imported pass through `redact` first, as recordings do.
    """
    store = engine.store
    clean: Callable[[Interaction], Interaction] = redact or (lambda i: i)
    app = FastAPI(
        title="virt admin API",
        version="1",
        openapi_url=f"{PREFIX}/openapi.json",
        docs_url=f"{PREFIX}/docs",
        redoc_url=None,
        responses={
            400: {"model": p.Error, "description": "The body is not valid JSON, or a bad value."},
            401: {"model": p.Error, "description": "Missing or wrong admin token."},
            403: {"model": p.Error, "description": "No token, and a web page sent the request."},
        },
    )

    async def check_token(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> None:
        if token is None:
            if (why := browser_refusal(request.headers, host)) is not None:
                raise HTTPException(403, why)
            return
        given = credentials.credentials if credentials else ""
        if not hmac.compare_digest(given.encode(), token.encode()):
            raise HTTPException(401, "missing or wrong admin token", {"WWW-Authenticate": "Bearer"})

    guarded = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])
    open_routes = APIRouter(prefix=PREFIX)

    @app.exception_handler(StoreReadOnly)
    async def read_only(request: Request, exc: StoreReadOnly) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=409)

    @app.exception_handler(VirtError)
    async def virt_error(request: Request, exc: VirtError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    @open_routes.get("/health")
    async def health() -> p.Health:
        """The server is up and its database is readable."""
        return p.Health(status="ok", interactions=store.count())

    @open_routes.get("/ready")
    async def ready() -> p.Health:
        """Both doors are accepting requests."""
        return p.Health(status="ready", interactions=store.count())

    @guarded.get("/interactions")
    async def list_interactions(
        host: str | None = None,
        method: str | None = None,
        path: Annotated[str | None, Query(description="Glob: * and ? wildcards.")] = None,
        status: Annotated[int | None, Query(ge=100, le=599)] = None,
        session: str | None = None,
        tag: str | None = None,
        since: Annotated[str | None, Query(description="recorded_at >= since (ISO 8601)")] = None,
        until: Annotated[str | None, Query(description="recorded_at < until (ISO 8601)")] = None,
        q: Annotated[str | None, Query(description="Full-text search: URL and bodies.")] = None,
        source_format: str | None = None,
        cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,18}$")] = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        bodies: Annotated[bool, Query(description="Full interactions, not summaries.")] = False,
    ) -> p.Page:
        """Recorded interactions, oldest first, a page at a time."""
        f = Filter(host, method, path, status, session, tag, since, until, q, source_format)
        found = store.find(f, after=int(cursor) if cursor else None, limit=limit + 1)
        more = len(found) > limit
        found = found[:limit]
        tags = store.tags([i.id for i in found if i.id is not None])
        items: list[p.InteractionOut] | list[p.InteractionSummary]
        if bodies:
            items = [p.interaction_out(i, tags.get(i.id or 0, [])) for i in found]
        else:
            items = [p.summary_out(i, tags.get(i.id or 0, [])) for i in found]
        next_cursor = str(found[-1].id) if more and found else None
        return p.Page(items=items, next_cursor=next_cursor)

    def _get(id: int) -> Interaction:
        found = store.get(id)
        if found is None:
            raise HTTPException(404, f"no interaction {id}")
        return found

    def _out(i: Interaction) -> p.InteractionOut:
        assert i.id is not None
        return p.interaction_out(i, store.tags([i.id]).get(i.id, []))

    @guarded.get("/interactions/{id}", responses=_NOT_FOUND)
    async def get_interaction(id: InteractionId) -> p.InteractionOut:
        """One interaction with its bodies."""
        return _out(_get(id))

    @guarded.post("/interactions", status_code=201)
    async def add_interaction(body: p.InteractionIn) -> p.InteractionOut:
        """Add a hand-written interaction; it answers requests at once."""
        interaction = clean(replace(_from_payload(body), session=body.session))
        written = store.insert(interaction, keys(interaction.request))
        assert written.id is not None
        store.set_tags(written.id, body.tags)
        engine.changed()
        return _out(_get(written.id))

    @guarded.put("/interactions/{id}", responses=_NOT_FOUND)
    async def replace_interaction(id: InteractionId, body: p.InteractionIn) -> p.InteractionOut:
        """Replace an interaction (it keeps its id, session and place in its sequence)."""
        current = _get(id)
        # the exchange is replaced; where and when it came from stays
        interaction = clean(
            replace(
                _from_payload(body),
                recorded_at=current.recorded_at,
                timings=current.timings,
                source=current.source,
                source_format=current.source_format,
            )
        )
        store.update(id, interaction, keys(interaction.request))
        store.set_tags(id, body.tags)
        engine.changed()
        return _out(_get(id))

    @guarded.patch("/interactions/{id}", responses=_NOT_FOUND)
    async def patch_interaction(id: InteractionId, body: p.InteractionPatch) -> p.InteractionOut:
        """Change some fields of an interaction: status, headers, a body, tags..."""
        current = _get(id)
        patched = clean(_patched(current, body))
        if patched != current:
            store.update(id, patched, keys(patched.request))
        if body.tags is not None:
            store.set_tags(id, body.tags)
        engine.changed()
        return _out(_get(id))

    @guarded.delete("/interactions/{id}", responses=_NOT_FOUND)
    async def delete_interaction(id: InteractionId) -> p.Deleted:
        """Delete an interaction; it stops answering at once."""
        if not store.delete(id):
            raise HTTPException(404, f"no interaction {id}")
        engine.changed()
        return p.Deleted(deleted=id)

    @guarded.get("/journal")
    async def journal(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        match: Annotated[str | None, Query(pattern=r"^[a-z]{1,20}$")] = None,
    ) -> p.Journal:
        """The requests served recently, newest first, with how each was matched."""
        entries = engine.journal.entries(limit=limit, match=match)
        return p.Journal(
            started=engine.journal.started,
            entries=[p.ServedOut(**_fields(e)) for e in entries],
        )

    @guarded.get("/stats")
    async def stats() -> p.Stats:
        """Interactions per host and route; answers by match kind since start."""
        routes = store.route_counts()
        hosts: dict[str, int] = {}
        for host, _, _, n in routes:
            hosts[host] = hosts.get(host, 0) + n
        return p.Stats(
            interactions=sum(hosts.values()),
            hosts=hosts,
            routes=[
                p.RouteCount(host=h, method=m, path=pa, interactions=n) for h, m, pa, n in routes
            ],
            served=engine.journal.counts(),
            started=engine.journal.started,
        )

    @guarded.get("/rules")
    async def get_rules() -> p.RulesOut:
        """The matching rules in force: thresholds, weights, ignored and required fields,
        matchers and priorities per route (virt.toml's [match] and [[route]])."""
        return p.RulesOut(source=rules_source, rules=engine.rules.as_dict())

    @guarded.put("/rules", responses={400: {"model": p.Error}})
    async def put_rules(body: dict[str, Any]) -> p.RulesOut:
        """Replace the matching rules until the server stops (virt.toml is not rewritten).
        The body has virt.toml's shape as JSON: {"match": {...}, "route": [{...}]}."""
        engine.set_rules(Rules.from_dict(body, "body"))
        return p.RulesOut(source="admin API", rules=engine.rules.as_dict())

    @guarded.post("/reset")
    async def reset() -> p.Reset:
        """Restart every recorded sequence from its first response."""
        engine.reset()
        return p.Reset(reset=True)

    @guarded.post(
        "/import",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                },
            }
        },
        responses={400: {"model": p.Error}, 413: {"model": p.Error}, 415: {"model": p.Error}},
    )
    async def import_recording(
        request: Request,
        filename: Annotated[
            str,
            Query(pattern=r"^[A-Za-z0-9._-]{1,200}$", description="Name to detect the format by."),
        ] = "upload",
        format: Annotated[
            str | None,
            Query(pattern=_one_of(formats.FORMATS), description="Force a format, not detecting."),
        ] = None,
    ) -> p.ImportResult:
        """Import one recording file sent as the request body (HAR, VCR, WireMock mapping...)."""
        if format is not None and format not in formats.FORMATS:
            raise HTTPException(
                400, f"unknown format {format!r}; known: {', '.join(sorted(formats.FORMATS))}"
            )
        if (why := check_filename(filename)) is not None:
            raise HTTPException(400, why)
        if (why := upload_refusal(request.headers.get("content-type"))) is not None:
            raise HTTPException(415, why)
        with upload_folder() as folder:
            path = folder / filename
            try:
                check_declared(request.headers.get("content-length"), max_body)
                await receive(request.stream(), path, max_body)
            except TooLarge as e:
                raise HTTPException(413, str(e)) from e
            report = await asyncio.to_thread(import_file, store.path, path, filename, format, clean)
        engine.changed()
        return p.ImportResult(
            files=report.files,
            imported=report.imported,
            by_format=dict(report.by_format),
            skipped=[p.Problem(path=x.path, where=x.where, why=x.why) for x in report.skipped],
            skipped_count=report.skipped_count,
            skipped_reasons=dict(report.reasons.most_common()),
            failed=[p.Problem(path=x.path, where=x.where, why=x.why) for x in report.failed],
            ids=report.ids,
        )

    @guarded.get(
        "/export",
        response_class=Response,
        responses={
            200: {"content": {"application/octet-stream": {}, "application/zip": {}}},
            400: {"model": p.Error},
        },
    )
    async def export_recordings(
        format: Annotated[
            str, Query(pattern=_one_of(formats.WRITERS), description="The format to write.")
        ],
        host: str | None = None,
        session: str | None = None,
    ) -> Response:
        """The interactions (optionally one host's or session's) in another tool's format."""
        if format not in formats.WRITERS:
            raise HTTPException(
                400, f"cannot export to {format!r}; formats: {', '.join(sorted(formats.WRITERS))}"
            )
        data, media, name = await asyncio.to_thread(
            _export_bytes, store.path, format, host, session
        )
        return Response(
            data,
            media_type=media,
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    app.include_router(open_routes)
    app.include_router(guarded)
    app.add_middleware(BodyLimit, limit=max_body, streamed=frozenset({f"{PREFIX}/import"}))
    return app


def _one_of(names: Any) -> str:
    """A regex accepting exactly `names`, so the OpenAPI document lists what is valid."""
    return "^(" + "|".join(re.escape(n) for n in sorted(names)) + ")$"


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _from_payload(body: p.InteractionIn) -> Interaction:
    req, resp = body.request, body.response
    try:
        request = request_from_url(req.method, req.url, tuple(req.headers))
    except ValueError as e:
        raise HTTPException(400, f"request.url: {e}") from e
    request = with_body(request, req.content(), encoded=False)
    response = response_from(
        resp.status, tuple(resp.headers), resp.content(), encoded=False, reason=resp.reason
    )
    return Interaction(
        request=request, response=response, session=body.session, recorded_at=iso_utc(time.time())
    )


def _patched(current: Interaction, patch: p.InteractionPatch) -> Interaction:
    request, response = current.request, current.response
    if (rp := patch.request) is not None:
        if rp.url is not None:
            try:
                moved = request_from_url(request.method, rp.url)
            except ValueError as e:
                raise HTTPException(400, f"request.url: {e}") from e
            request = replace(
                request,
                scheme=moved.scheme,
                host=moved.host,
                port=moved.port,
                path=moved.path,
                query=moved.query,
            )
        if rp.method is not None:
            request = replace(request, method=rp.method.upper())
        if rp.headers is not None:
            request = replace(request, headers=tuple(rp.headers))
        if (new_body := rp.content()) is not None:
            request = with_body(request, new_body, encoded=False)
    if (sp := patch.response) is not None:
        new_body = sp.content()
        if sp.headers is not None or new_body is not None:
            # a new body or new headers: the recorded wire bytes no longer apply
            headers = tuple(sp.headers) if sp.headers is not None else response.headers
            body = new_body if new_body is not None else response.body
            response = response_from(
                response.status,
                headers,
                body,
                encoded=False,
                reason=response.reason,
                http_version=response.http_version,
            )
        if sp.status is not None:
            response = replace(response, status=sp.status)
        if sp.reason is not None:
            response = replace(response, reason=sp.reason)
    return replace(current, request=request, response=response)


def _export_bytes(
    db: Path, format: str, host: str | None, session: str | None
) -> tuple[bytes, str, str]:
    """Export in a worker thread; a format that writes a folder comes back as a zip."""
    store = Store.open(db, readonly=True)
    try:
        with tempfile.TemporaryDirectory(prefix="virt-export-") as tmp:
            out = Path(tmp) / f"export.{format}"
            export(store, format, out, Filter(host=host, session=session))
            if out.is_dir():
                buffer = io.BytesIO()
                with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
                    for f in sorted(out.rglob("*")):
                        if f.is_file():
                            zf.write(f, f.relative_to(out).as_posix())
                return buffer.getvalue(), "application/zip", f"virt-{format}.zip"
            data = out.read_bytes()
            shutil.rmtree(tmp, ignore_errors=True)
            return data, "application/octet-stream", f"virt.{format}"
    finally:
        store.close()
