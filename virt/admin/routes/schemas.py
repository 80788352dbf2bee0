"""GET /__virt/schemas: what virt learned per route, and the OpenAPI operations it answers from."""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from virt.admin import payloads as p
from virt.admin.state import PREFIX, State, check_token
from virt.memo import Memo
from virt.schema.book import RouteBook
from virt.schema.fallback import Fallback
from virt.schema.openapi import OpenApi, Operation, load_openapi
from virt.schema.routes import describe, find, profile
from virt.store import Store

router = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])
_loaded: Memo[str, OpenApi] = Memo(8)
_loading = threading.Lock()


@router.get("/schemas")
async def schemas(
    state: State,
    route: Annotated[
        str | None,
        Query(max_length=500, description="A part of the route's name, or METHOD /path."),
    ] = None,
    host: Annotated[
        str | None, Query(max_length=300, description="Only routes on this host (name[:port]).")
    ] = None,
    cursor: Annotated[str | None, Query(pattern=r"^[0-9]{1,9}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> p.Schemas:
    """The JSON Schemas learned from the recordings, per route (method, origin, template),
    sorted by origin, template and method, a page at a time; whether each route gets fallback
    answers, and why not; and the operations of the OpenAPI documents in use."""
    fallback = state.engine.fallback
    documents = fallback.openapi if isinstance(fallback, Fallback) else None
    # a page of profiles reads up to 100 recordings per route: on a thread, with a store of
    # its own, so that replay goes on meanwhile
    return await asyncio.to_thread(
        _listing,
        state.store.path,
        documents,
        fallback is not None,
        route,
        host,
        int(cursor or 0),
        limit,
    )


def _listing(
    db: Path,
    documents: Sequence[OpenApi] | None,
    stage_on: bool,
    route: str | None,
    host: str | None,
    skip: int,
    limit: int,
) -> p.Schemas:
    store = Store.open(db, readonly=True)
    try:
        found = find(store, route, host)
        page = found.routes[skip : skip + limit]
        book = RouteBook(store)
        routes = []
        for r in page:
            made = profile(book, r)
            if made is not None:
                routes.append(p.RouteSchemas.model_validate(describe(made, stage_on)))
        more = skip + limit < len(found.routes)
        if documents is None:
            documents = _stored(store)
        return p.Schemas(
            fallback=stage_on,
            routes=routes,
            total=len(found.routes),
            truncated=found.truncated,
            next_cursor=str(skip + limit) if more else None,
            documents=[_document(d, store, route, host, limit) for d in documents],
        )
    finally:
        store.close()


def _stored(store: Store) -> list[OpenApi]:
    """The documents stored in `store` (read when the fallback stage, which holds them, is
    off), each loaded once while its bytes stay the same."""
    out = []
    for name, data in store.documents("openapi"):
        source = f"{store.path}: {name}"
        key = f"{hashlib.sha256(data).hexdigest()} {source}"
        with _loading:
            document = _loaded.get(key)
            if document is None:
                document = load_openapi(data, source)
                _loaded.put(key, document)
        out.append(document)
    return out


def _document(
    document: OpenApi, store: Store, route: str | None, host: str | None, limit: int
) -> p.DocumentOut:
    # the name only: where the server keeps its files is none of a client's business
    prefix = f"{store.path}: "
    name = (
        document.source[len(prefix) :]
        if document.source.startswith(prefix)
        else Path(document.source).name
    )
    asked = (route or "").strip()
    hostname = (host or "").strip().lower().split(":")[0]
    fits = []
    for op in document.operations():
        named = f"{op.method} {op.template}"
        if asked and asked.lower() not in named.lower() and not _names(asked, op):
            continue
        hosts = {s.host for s in op.servers} or {None}
        if hostname and None not in hosts and hostname not in hosts:
            continue
        fits.append(
            p.OperationOut(
                route=named,
                operation_id=op.operation_id,
                success=op.success,
                statuses=sorted(op.responses),
                request_schema=op.request_schema is not None,
            )
        )
    return p.DocumentOut(
        name=name,
        title=document.title,
        version=document.version,
        operations=fits[:limit],
        total=len(fits),
    )


def _names(asked: str, op: Operation) -> bool:
    """Whether `METHOD /concrete/path` is a request for the operation."""
    method, _, path = asked.partition(" ")
    return method.upper() == op.method and op.matches(path.strip()) is not None
