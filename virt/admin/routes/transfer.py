"""POST /__virt/import and GET /__virt/export: recordings in and out in other tools' formats."""

from __future__ import annotations

import asyncio
import io
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import Response

from virt import formats
from virt.admin import payloads as p
from virt.admin.access import upload_refusal
from virt.admin.state import PREFIX, State, check_token
from virt.admin.upload import (
    TooLarge,
    check_declared,
    check_filename,
    import_file,
    receive,
    upload_folder,
)
from virt.store import Filter, Store
from virt.transfer import export

router = APIRouter(prefix=PREFIX, dependencies=[Depends(check_token)])
IMPORT_PATH = f"{PREFIX}/import"
"""Counts its own bytes as it stores them (see virt.admin.limit.BodyLimit)."""


def _one_of(names: Iterable[str]) -> str:
    """A regex accepting exactly `names`, so the OpenAPI document lists what is valid (and
    FastAPI refuses anything else before the handler runs)."""
    return "^(" + "|".join(re.escape(n) for n in sorted(names)) + ")$"


@router.post(
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
    state: State,
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
    if (why := check_filename(filename)) is not None:
        raise HTTPException(400, why)
    if (why := upload_refusal(request.headers.get("content-type"))) is not None:
        raise HTTPException(415, why)
    with upload_folder() as folder:
        path = folder / filename
        try:
            check_declared(request.headers.get("content-length"), state.max_body)
            await receive(request.stream(), path, state.max_body)
        except TooLarge as e:
            raise HTTPException(413, str(e)) from e
        report = await asyncio.to_thread(
            import_file, state.store.path, path, filename, format, state.clean
        )
    state.engine.changed()
    return p.ImportResult(
        files=report.files,
        imported=report.imported,
        by_format=dict(report.by_format),
        skipped=[p.Problem(path=x.path, where=x.where, why=x.why) for x in report.skipped],
        skipped_count=report.skipped_count,
        skipped_reasons=dict(report.reasons.most_common()),
        failed=[p.Problem(path=x.path, where=x.where, why=x.why) for x in report.failed],
        ids=report.ids,
        documents=report.documents,
    )


@router.get(
    "/export",
    response_class=Response,
    responses={
        200: {"content": {"application/octet-stream": {}, "application/zip": {}}},
        400: {"model": p.Error},
    },
)
async def export_recordings(
    state: State,
    format: Annotated[
        str, Query(pattern=_one_of(formats.WRITERS), description="The format to write.")
    ],
    host: str | None = None,
    session: str | None = None,
) -> Response:
    """The interactions (optionally one host's or session's) in another tool's format."""
    data, media, name = await asyncio.to_thread(
        _export_bytes, state.store.path, format, host, session
    )
    return Response(
        data,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


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
