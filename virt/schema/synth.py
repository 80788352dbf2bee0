"""Synth: made-up answers with no recording as their template, generated from a schema.

An imported OpenAPI document's answer (its example, else a value generated from its schema; a
422 naming the violations when the request body breaks the document's request schema), or the
route's inferred schema's. The fallback stage tries these after a template, in that order; the
same seed gives the same bytes in every process.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson

from virt.errors import SchemaError
from virt.model import Request
from virt.normalize.canonical import NOT_JSON
from virt.schema import leaves
from virt.schema.book import RouteProfile
from virt.schema.openapi import OpenApi, Operation
from virt.schema.reply import DROPPED, Answer, Refusal, headers_for
from virt.schema.validate import violations

log = logging.getLogger("virt.fallback")
"""The fallback stage's logger: these answers are its own."""


def from_openapi(
    request: Request, operation: tuple[OpenApi, Operation], seed: bytes
) -> Answer | None:
    """The answer of the OpenAPI operation found for `request`; None when the document gives
    no success answer or its schema cannot be satisfied."""
    document, op = operation
    explain: dict[str, Any] = {
        "route": f"{op.method} {op.template}",
        "openapi": document.source,
    }
    if op.request_schema is not None:
        sent = leaves.body_data(request)
        if sent is not NOT_JSON:
            found = violations(op.request_schema, sent)
            if found:
                shown = [
                    {"pointer": v.pointer, "rule": v.rule, "message": v.message} for v in found
                ]
                body = orjson.dumps(
                    {
                        "error": "the request body does not match the OpenAPI document",
                        "violations": shown,
                    }
                )
                return Answer(
                    422,
                    (("Content-Type", "application/json"),),
                    body,
                    "openapi",
                    None,
                    {**explain, "violations": shown, "status": 422},
                )
    status = op.success
    if status is None:
        return None
    answer = op.responses.get(status)
    if answer is None:
        return None
    if answer.example is not None:
        value: Any = answer.example
        explain["example"] = True
    elif answer.schema is not None:
        from virt.schema.generate import generate  # faker loads on first use only

        try:
            value = generate(answer.schema, seed, root=document.root)
        except SchemaError as e:
            log.warning("openapi fallback for %s %s: %s", op.method, op.template, e)
            return None
    else:
        value = None
    body = b"" if value is None else orjson.dumps(value)
    headers = [("Content-Type", answer.content_type or "application/json")] if body else []
    headers.extend(
        (k, v)
        for k, v in answer.headers
        if k.lower() not in DROPPED and k.lower() != "content-type"
    )
    explain["status"] = status
    return Answer(status, tuple(headers), body, "openapi", None, explain)


def from_schema(request: Request, profile: RouteProfile, seed: bytes) -> Answer | Refusal:
    """A value generated from the route's inferred success schema, with its recorded headers;
    SchemaError when the schema cannot be satisfied."""
    status = profile.success
    schema = profile.response_schemas.get(status) if status is not None else None
    if status is None or schema is None:
        return Refusal("the route has no structured success answer to learn from", profile.name)
    from virt.schema.generate import generate  # faker loads on first use only

    value = generate(schema, seed)
    data = orjson.dumps(value)
    base = profile.answers()[0]
    explain = {"route": profile.name, "status": status, "schema": True}
    return Answer(status, headers_for(base, data, seed), data, "schema", base.id, explain)
