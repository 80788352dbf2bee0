"""Comparable fields of a request: what fuzzy matching scores, field by field.

A request becomes a flat mapping from field names to canonical text values:

- ``path[2]``: an identifier segment of the path (fixed segments belong to the route template);
- ``query:page``: a query parameter, its values as a sorted multiset;
- ``header:x-tenant``: a header; Authorization keeps only its scheme, Cookie only its names;
- ``body:$.user.ids[0]``: a JSON leaf (GraphQL documents and variables included), as JSON text;
- ``form:name``: a form-urlencoded field;
- ``body``: any other body, as a digest of its canonical form (multipart, XML, bytes).

Flat names make scoring, ignore rules, learned volatility, echoing and the journal's
field-by-field comparison all speak the same language.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

import orjson

from virt.model import Request, header
from virt.normalize.canonical import NOT_JSON, VOLATILE_QUERY, body_form, json_form
from virt.normalize.route import is_param
from virt.normalize.uri import pairs, path_form

Fields = dict[str, str]

VOLATILE_HEADERS = frozenset(
    {
        "date",
        "user-agent",
        "content-length",
        "host",
        "connection",
        "keep-alive",
        "accept-encoding",
        "te",
        "via",
        "forwarded",
        "x-forwarded-for",
        "x-forwarded-host",
        "x-forwarded-proto",
        "x-forwarded-port",
        "x-real-ip",
        "proxy-authorization",
        "proxy-connection",
        "if-modified-since",
        "if-unmodified-since",
        "postman-token",
        "x-virt-session",
        # request ids and tracing
        "x-request-id",
        "request-id",
        "x-correlation-id",
        "correlation-id",
        "x-amzn-trace-id",
        "x-amz-request-id",
        "traceparent",
        "tracestate",
        "baggage",
        "b3",
        "x-b3-traceid",
        "x-b3-spanid",
        "x-b3-parentspanid",
        "x-b3-sampled",
        "x-b3-flags",
        "x-cloud-trace-context",
        "sentry-trace",
        "x-datadog-trace-id",
        "x-datadog-parent-id",
        "x-datadog-sampling-priority",
        "x-datadog-origin",
        # AWS SigV4 and SDK bookkeeping
        "x-amz-date",
        "x-amz-security-token",
        "x-amz-content-sha256",
        "amz-sdk-invocation-id",
        "amz-sdk-request",
        "x-amz-user-agent",
        # retried POSTs carry a fresh key each run
        "idempotency-key",
        "x-idempotency-key",
    }
)
"""Headers whose values never count in matching (listed in docs/matching.md). Authorization
and Cookie count by scheme and cookie names only."""

OPERATION_HEADERS = frozenset(
    {"x-amz-target", "soapaction", "x-http-method-override", "x-http-method", "x-method-override"}
)
"""Headers that name the operation a request asks for (DynamoDB's X-Amz-Target, SOAPAction,
method overrides): requests that differ in one are different requests, whatever their URL and
body, at every stage of matching."""

_TOKEN_LIKE = re.compile(r"[A-Za-z0-9+/=_.~-]{20,}")
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.I)
_HEX = re.compile(r"[0-9a-f]{16,}", re.I)
_EPOCH = re.compile(r"1[0-9]{9}(?:[0-9]{3})?(?:\.[0-9]+)?")
_ISO_TIME = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(?::\d\d(?:\.\d+)?)?(?:Z|[+-]\d\d:?\d\d)?")
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def generated_kind(value: str) -> str | None:
    """What kind of made-fresh-on-each-call value this reads as (uuid, hex, epoch, time,
    token), or None. Such values differ between recording and replay without changing what
    was asked."""
    text = value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if _UUID.fullmatch(text):
        return "uuid"
    if _HEX.fullmatch(text):
        return "hex"
    if _EPOCH.fullmatch(text):
        return "epoch"
    if _ISO_TIME.fullmatch(text):
        return "time"
    if (
        _TOKEN_LIKE.fullmatch(text) is not None
        and any(c.isdigit() for c in text)
        and any(c.isalpha() for c in text)
    ):
        return "token"
    return None


def json_path(parent: str, key: str | int) -> str:
    """The flat name of a JSON child: `$.a`, `$['a b']`, `$.a[0]`."""
    if isinstance(key, int):
        return f"{parent}[{key}]"
    if _IDENT.fullmatch(key):
        return f"{parent}.{key}"
    return f"{parent}[{orjson.dumps(key).decode()}]"


OPAQUE_BODY = "body"
"""The one field of a body compared whole (bytes, multipart, XML, deep or very large JSON): a
digest of its canonical form."""
MAX_FIELDS_BODY = 1 << 20
"""Bytes a body may have to be compared field by field; a larger one is compared by a digest
of its bytes (the canonical stage still finds it with its JSON keys in another order)."""
MAX_BODY_FIELDS = 2_000
"""JSON leaves a body may have to be compared field by field. A larger body is compared as one
digest of its canonical form: scoring weighs every field against up to 256 candidates, so a
100,000-key body would hold the event loop for seconds, and a comparison it loses says no
more than "the body differs"."""


def json_leaves(value: Any, prefix: str = "$", limit: int | None = None) -> Fields | None:
    """Every leaf of a JSON value by its flat path; empty containers are leaves too. None when
    there are more than `limit`."""
    out: Fields = {}
    stack: list[tuple[str, Any]] = [(prefix, value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict) and node:
            stack.extend((json_path(path, k), v) for k, v in node.items())
        elif isinstance(node, list) and node:
            stack.extend((json_path(path, i), v) for i, v in enumerate(node))
        else:
            out[path] = orjson.dumps(node).decode()
            if limit is not None and len(out) > limit:
                return None
    return out


def fields(request: Request) -> Fields:
    """The comparable fields of `request` (see the module docstring)."""
    out: Fields = {}
    for i, segment in enumerate(path_form(request.path).split("/")):
        if segment and is_param(segment):
            out[f"path[{i}]"] = segment
    out.update(query_fields(request))
    out.update(header_fields(request))
    out.update(body_fields(request))
    return out


def query_fields(request: Request) -> Fields:
    """The query parameters' fields: each name's values as a sorted multiset."""
    out: Fields = {}
    if request.query:
        values: dict[str, list[str]] = {}
        for name, value in pairs(request.query):
            values.setdefault(name, []).append(value)
        for name, vals in values.items():
            out[f"query:{name}"] = "\x1f".join(sorted(vals))
    return out


def header_fields(request: Request) -> Fields:
    """The headers' fields; Authorization by its scheme, Cookie by its cookie names."""
    out: Fields = {}
    for name, value in request.headers:
        lname = name.lower()
        if lname == "authorization":
            value = value.split(" ", 1)[0] if " " in value else "<credential>"
        elif lname == "cookie":
            value = "; ".join(sorted(c.split("=", 1)[0].strip() for c in value.split(";")))
        key = f"header:{lname}"
        out[key] = f"{out[key]}, {value}" if key in out else value
    return out


def body_fields(request: Request) -> Fields:
    """The body's fields: JSON leaves, form fields, or one digest of its canonical form."""
    if not request.body:
        return {}
    if len(request.body) > MAX_FIELDS_BODY:
        # parsing it would take seconds, and the recording it is scored against just as long
        return {OPAQUE_BODY: hashlib.sha256(request.body).hexdigest()[:32]}
    data = json_form(request)
    if data is not NOT_JSON:
        leaves = json_leaves(data, limit=MAX_BODY_FIELDS)
        if leaves is not None:
            return {f"body:{k}": v for k, v in leaves.items()}
    ctype = (header(request.headers, "content-type") or "").lower()
    if "application/x-www-form-urlencoded" in ctype:
        out: dict[str, list[str]] = {}
        for name, value in pairs(request.body):
            out.setdefault(f"form:{name}", []).append(value)
        return {k: "\x1f".join(sorted(v)) for k, v in out.items()}
    return {OPAQUE_BODY: hashlib.sha256(body_form(request)).hexdigest()[:32]}


Operation = tuple[tuple[str, str], ...]
"""Operation headers: lower-cased names with their values, sorted."""


def operation(request: Request) -> Operation:
    """The operation headers of `request`, lower-cased names with their values, sorted."""
    return tuple(
        sorted((k.lower(), v) for k, v in request.headers if k.lower() in OPERATION_HEADERS)
    )


def is_volatile(name: str) -> bool:
    """Whether field `name` never counts in matching by default (volatile headers, signing
    query parameters)."""
    if name.startswith("header:"):
        return name[7:] in VOLATILE_HEADERS
    if name.startswith("query:"):
        return name[6:].lower() in VOLATILE_QUERY
    return False


__all__ = [
    "MAX_BODY_FIELDS",
    "MAX_FIELDS_BODY",
    "OPAQUE_BODY",
    "OPERATION_HEADERS",
    "VOLATILE_HEADERS",
    "VOLATILE_QUERY",
    "Fields",
    "Operation",
    "body_fields",
    "fields",
    "generated_kind",
    "header_fields",
    "is_volatile",
    "json_leaves",
    "json_path",
    "operation",
    "query_fields",
]
