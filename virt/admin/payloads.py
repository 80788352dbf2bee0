"""Pydantic bodies of the admin API, and their conversions to and from model values.

What a client sends to add or change an interaction lives in virt.admin.edits.
"""

from __future__ import annotations

import base64
import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Literal, get_type_hints

from pydantic import BaseModel, Field, create_model

from virt.match.journal import Served
from virt.model import Headers, Interaction, header
from virt.store import Summary

HeaderList = list[tuple[str, str]]


class MessageOut(BaseModel):
    headers: HeaderList
    body: str | None = Field(description="The decoded body as text, when it is UTF-8.")
    body_base64: str | None = Field(description="The decoded body's bytes, when not UTF-8.")
    size: int = Field(description="Decoded body size in bytes.")
    encoding: str | None = Field(description="Content-Encoding the body was decoded from.")


class RequestOut(MessageOut):
    method: str
    url: str


class ResponseOut(MessageOut):
    status: int
    reason: str


class InteractionOut(BaseModel):
    id: int
    session: str
    seq: int
    recorded_at: str
    tags: list[str]
    source: str | None
    source_format: str | None
    request: RequestOut
    response: ResponseOut


class InteractionSummary(BaseModel):
    id: int
    session: str
    seq: int
    recorded_at: str
    method: str
    url: str
    status: int
    content_type: str | None
    request_size: int
    response_size: int
    tags: list[str]
    source_format: str | None


class Page(BaseModel):
    items: list[InteractionOut] | list[InteractionSummary]
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )


def _model_of(cls: type[Any], descriptions: Mapping[str, str]) -> type[BaseModel]:
    """A pydantic model named `cls.__name__ + "Out"` with every field of dataclass `cls`, each
    required (the API always sends it), so a field added there shows here with no edit."""
    hints = get_type_hints(cls)
    spec: dict[str, Any] = {
        f.name: (hints[f.name], Field(description=descriptions.get(f.name)))
        for f in dataclasses.fields(cls)
    }
    return create_model(f"{cls.__name__}Out", **spec)


if TYPE_CHECKING:
    ServedOut = BaseModel
else:
    ServedOut = _model_of(
        Served,
        {
            "explain": "How the match was made: score, the field-by-field comparison with the "
            "chosen (or best rejected) recording, fields echoed into the response, the rule "
            "applied."
        },
    )
"""One served request as GET /__virt/journal lists it: every field of match.journal.Served."""


class Journal(BaseModel):
    started: str
    entries: list[ServedOut]


class RouteCount(BaseModel):
    host: str
    method: str
    path: str
    interactions: int


class Stats(BaseModel):
    interactions: int
    hosts: dict[str, int]
    routes: list[RouteCount]
    served: dict[str, int] = Field(description="Answers since start, by match kind.")
    started: str


class Health(BaseModel):
    status: Literal["ok", "ready"]
    interactions: int


class RulesOut(BaseModel):
    source: str | None = Field(
        description="Where the rules came from: a virt.toml path, 'admin API', or null for "
        "the defaults."
    )
    rules: dict[str, Any] = Field(description="virt.toml's [match] and [[route]] as JSON.")


class FaultsIn(BaseModel):
    seed: int = Field(
        0,
        description="Seeds fractions and drawn delays: same seed, session and attempt, same fault.",
    )
    faults: list[str | dict[str, str]] = Field(
        description="Rules in order, each '[METHOD] PATH: ACTION [ATTEMPTS]' (e.g. "
        "'POST /v1/charges: 503 x2') or a table {route, fault, attempts}; empty: no faults."
    )


class FaultsOut(BaseModel):
    source: str | None = Field(
        description="Where the plan came from: 'config' (--fault, virt.toml), 'admin API', or "
        "null when there is none."
    )
    seed: int = Field(description="The plan's seed.")
    faults: list[dict[str, Any]] = Field(
        description="Each rule: its text, route, action, whether it acts after answering, and "
        "the attempts it applies to."
    )


class FaultsReport(BaseModel):
    plan: dict[str, Any] | None = Field(description="The plan in force, as GET /__virt/faults.")
    injected: dict[str, int] = Field(description="Faults injected, by action.")
    faults: list[dict[str, Any]] = Field(
        description="Every fault injected, oldest first: session, route, method, url, attempt, "
        "idempotency key, the fault, when, and `next`: what the client did next ({did: 'gave "
        "up'} or {did: 'retried', attempt, after_s, key: same|different|none, new_key, status, "
        "faulted})."
    )


class Reset(BaseModel):
    reset: bool


class Deleted(BaseModel):
    deleted: int


class Problem(BaseModel):
    path: str
    where: str
    why: str


class ImportResult(BaseModel):
    files: int
    imported: int
    by_format: dict[str, int]
    skipped: list[Problem]
    """The first skipped entries (20 per file); skipped_count counts them all."""
    skipped_count: int
    skipped_reasons: dict[str, int]
    failed: list[Problem]
    ids: list[int]
    documents: list[str] = []
    """One line per OpenAPI document stored: "stored OpenAPI document <title> <version>: N
    operations"."""


class Error(BaseModel):
    detail: str


class RouteSchemas(BaseModel):
    route: str = Field(description="METHOD scheme://host:port/template, as the journal names it.")
    method: str
    origin: str
    template: str = Field(description="The path template: /items/{id}.")
    recordings: int = Field(description="Recordings the schemas come from (at most 100).")
    structured: bool = Field(description="Every success answer is JSON (or empty).")
    success: int | None = Field(description="The most frequent 2xx status; null without one.")
    fallback: bool = Field(description="An unrecorded request on this route gets an answer.")
    why: str | None = Field(description="Why it gets none (a route of bytes, no success).")
    request: dict[str, Any] | None = Field(description="JSON Schema of the request bodies.")
    query: dict[str, Any] | None = Field(description="JSON Schema of the parsed query strings.")
    responses: dict[str, dict[str, Any]] = Field(description="JSON Schema of answers, per status.")


class OperationOut(BaseModel):
    route: str = Field(description="METHOD /template, as the document writes it.")
    operation_id: str | None
    success: int | None = Field(description="The status a fallback answer gets.")
    statuses: list[int]
    request_schema: bool = Field(description="Request bodies are checked against a schema.")


class DocumentOut(BaseModel):
    name: str = Field(description="The file name the document was stored or given under.")
    title: str
    version: str
    operations: list[OperationOut]
    total: int = Field(description="Operations that fit the filters; `limit` are listed.")


class Schemas(BaseModel):
    fallback: bool = Field(description="The fallback stage is on (not --no-fallback).")
    routes: list[RouteSchemas]
    total: int = Field(description="Recorded routes that fit the filters.")
    truncated: bool = Field(description="More route groups are recorded than one listing reads.")
    next_cursor: str | None = Field(
        description="Pass as `cursor` for the next page; null at the end."
    )
    documents: list[DocumentOut] = Field(description="OpenAPI documents in use, or stored.")


# conversions


def _message(headers: Headers, body: bytes, encoding: str | None) -> dict[str, Any]:
    try:
        text: str | None = body.decode("utf-8")
        b64 = None
    except UnicodeDecodeError:
        text, b64 = None, base64.b64encode(body).decode()
    return {
        "headers": [list(h) for h in headers],
        "body": text,
        "body_base64": b64,
        "size": len(body),
        "encoding": encoding,
    }


def interaction_out(i: Interaction, tags: list[str]) -> InteractionOut:
    assert i.id is not None
    return InteractionOut(
        id=i.id,
        session=i.session,
        seq=i.seq,
        recorded_at=i.recorded_at,
        tags=tags,
        source=i.source,
        source_format=i.source_format,
        request=RequestOut(
            method=i.request.method,
            url=i.request.url,
            **_message(i.request.headers, i.request.body, i.request.encoding),
        ),
        response=ResponseOut(
            status=i.response.status,
            reason=i.response.reason,
            **_message(i.response.headers, i.response.body, i.response.encoding),
        ),
    )


def summary_out(i: Interaction, tags: list[str]) -> InteractionSummary:
    assert i.id is not None
    return InteractionSummary(
        id=i.id,
        session=i.session,
        seq=i.seq,
        recorded_at=i.recorded_at,
        method=i.request.method,
        url=i.request.url,
        status=i.response.status,
        content_type=header(i.response.headers, "content-type"),
        request_size=len(i.request.body),
        response_size=len(i.response.body),
        tags=tags,
        source_format=i.source_format,
    )


def summary_dict(s: Summary) -> dict[str, Any]:
    return s.as_dict()
