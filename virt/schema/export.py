"""Everything the recordings taught, written as an OpenAPI 3.1 document (`virt schema --openapi`).

Paths are the route templates, their `{id}` and `{}` segments named path parameters; query
parameters come from the query schema, the request body from the shape of the recorded request
bodies, and each response status from the schema of its recorded answers, with one recorded
answer as its example. Examples are recorded response bodies, redacted when they were
recorded; request headers and bodies are never copied in.

A route whose success answers are not JSON (bytes, text, a git pack) gets no operation: served
back with `virt serve --openapi`, an operation without a schema would answer an empty body,
a wrong answer in disguise. The document lists such routes under `x-virt-opaque` instead.
"""

from __future__ import annotations

import http
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import yaml

from virt.errors import SchemaError
from virt.limits import MiB
from virt.model import header
from virt.normalize.route import PARAM
from virt.normalize.uri import pairs, path_form
from virt.schema.book import LEARNED, SAMPLE, RouteBook, RouteProfile
from virt.schema.contract import MIN_VALIDATION_SAMPLES
from virt.schema.infer import query_schema, structural
from virt.schema.routes import NOT_JSON, Route, profile, short_origin

log = logging.getLogger("virt.schema")

OPENAPI_VERSION = "3.1.0"
FORM = "application/x-www-form-urlencoded"
EXAMPLE_MAX = 64 * 1024
"""A recorded answer larger than this (as JSON) is no example: the schema says enough."""
EXAMPLES_TOTAL = 8 * MiB
"""Bytes of examples one document holds, so that it stays far below what `virt import` reads."""
_DIGITS = re.compile(r"\d+", re.ASCII)
_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}", re.I)
_NOT_NAME = re.compile(r"[^A-Za-z0-9]+")


@dataclass
class _Budget:
    left: int
    omitted: int = 0


@dataclass
class Learned:
    """The document, and what did not go into it."""

    document: dict[str, Any]
    operations: int
    opaque: list[str] = field(default_factory=list)
    """Routes left out because their answers are not JSON."""
    examples_omitted: int = 0
    """Examples left out for their size."""
    skipped: list[str] = field(default_factory=list)
    """Routes left out because their schemas cannot be worked out, each with why."""


def learned_openapi(
    book: RouteBook, routes: Sequence[Route], title: str, *, truncated: bool = False
) -> Learned:
    """The OpenAPI 3.1 document of `routes`, profiled through `book`; deterministic: the same
    recordings give the same document."""
    budget = _Budget(EXAMPLES_TOTAL)
    origins: dict[str, list[str]] = {}  # path -> origins recorded under it
    paths: dict[str, dict[str, Any]] = {}
    taken: dict[tuple[str, str], int] = {}  # (path, method) -> recordings of the one kept
    opaque: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    operation_ids: set[str] = set()
    count = 0
    for route in routes:
        found = profile(book, route)
        if found is None:
            continue
        if found.success is not None and not found.structured:
            opaque.append(
                {"route": found.name, "recordings": len(found.recordings), "why": NOT_JSON}
            )
            continue
        path, names = _path(found.template)
        if path is None:
            continue
        method = found.method.lower()
        key = (path, method)
        if key in taken and taken[key] >= len(found.recordings):
            _also(paths[path][method], found)
            _served(origins, path, found.origin)
            continue
        try:
            op = _operation(found, names, budget)
        except SchemaError as e:  # this route only: the others are written as usual
            skipped.append({"route": found.name, "why": f"its schemas cannot be worked out: {e}"})
            continue
        item = paths.setdefault(path, {})
        _served(origins, path, found.origin)
        if key in taken:  # the same operation on another origin, recorded more often
            op["operationId"] = item[method]["operationId"]
            op["description"] += f" Also recorded under {item[method]['x-virt-route']}."
        else:
            op["operationId"] = _operation_id(method, path, operation_ids)
            count += 1
        item[method] = op
        taken[key] = len(found.recordings)
    servers = sorted({s for found in origins.values() for s in found})
    for path, item in paths.items():
        if len(servers) > 1:
            item["servers"] = [{"url": s} for s in sorted(origins[path])]
        # methods in the order OpenAPI lists them
        paths[path] = dict(sorted(item.items(), key=lambda kv: _METHOD_ORDER.get(kv[0], 99)))
    document: dict[str, Any] = {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": title,
            "version": "recorded",
            "description": (
                f"What virt learned from recorded traffic: {count} operations. Schemas are "
                f"inferred from at most {SAMPLE} recordings per route; examples are recorded "
                "answers, redacted when they were recorded."
            ),
        },
        "servers": [{"url": s} for s in servers],
        "paths": dict(sorted(paths.items())),
    }
    if opaque:
        document["x-virt-opaque"] = opaque
    if skipped:
        document["x-virt-skipped"] = skipped
    if truncated:
        document["x-virt-truncated"] = True
    if budget.omitted:
        log.info(
            "%d example(s) left out to keep the document small (%d bytes each, %d in all)",
            budget.omitted,
            EXAMPLE_MAX,
            EXAMPLES_TOTAL,
        )
    return Learned(
        document,
        count,
        [o["route"] for o in opaque],
        budget.omitted,
        [f"{s['route']}: {s['why']}" for s in skipped],
    )


def dump(document: dict[str, Any], as_json: bool = False) -> bytes:
    """The document as YAML (or JSON), keys in the order built."""
    if as_json:
        return orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n"
    text: str = yaml.dump(
        document,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=False,
    )
    return text.encode()


class _Dumper(yaml.SafeDumper):
    """Never writes anchors: a schema shared by two operations is written out twice."""

    def ignore_aliases(self, data: Any) -> bool:
        return True


_METHOD_ORDER = {
    m: i
    for i, m in enumerate(
        ("servers", "parameters", "get", "put", "post", "delete", "options", "head", "patch")
    )
}


def _operation(found: RouteProfile, names: list[str], budget: _Budget) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": f"{found.method} {found.template}",
        "description": f"Learned from {len(found.recordings)} recording(s).",
        "x-virt-route": found.name,
        "x-virt-recordings": len(found.recordings),
    }
    parameters = _path_parameters(found, names) + _query_parameters(found)
    if parameters:
        op["parameters"] = parameters
    media, body = "application/json", found.request_schema
    if body is None:
        media, body = FORM, _form_schema(found)
    if body is not None:
        shape = _clean(structural(body))
        if found.request_samples < MIN_VALIDATION_SAMPLES:
            shape = _optional(shape)  # one sample makes every field look required
        op["requestBody"] = {"required": True, "content": {media: {"schema": shape}}}
    op["responses"] = {str(status): _response(found, status, budget) for status in _statuses(found)}
    return op


def _form_schema(found: RouteProfile) -> dict[str, Any] | None:
    """The schema of the form bodies of successful calls (a Stripe-style API), fields as
    strings; None unless every one sent a form."""
    forms: list[dict[str, str | list[str]]] = []
    for r in found.recordings:
        if not 200 <= r.status < 300:
            continue
        request = r.interaction.request
        ctype = (header(request.headers, "content-type") or "").lower()
        if FORM not in ctype or not request.body:
            return None
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            return None
        parsed: dict[str, str | list[str]] = {}
        for name, value in pairs(text):
            parsed.setdefault(name, value)
        forms.append(parsed)
    return query_schema(forms) if forms else None


def _statuses(found: RouteProfile) -> list[int]:
    return sorted({r.status for r in found.recordings})


def _response(found: RouteProfile, status: int, budget: _Budget) -> dict[str, Any]:
    answers = found.answers(status)
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        phrase = "Answer"
    out: dict[str, Any] = {"description": f"{phrase} (recorded {len(answers)} time(s))."}
    first = answers[0]
    resp = first.interaction.response
    if not resp.body:
        return out
    media = (header(resp.headers, "content-type") or "").split(";")[0].strip().lower()
    schema = found.response_schemas.get(status)
    if schema is None:  # not JSON: say what it is, promise no shape
        out["content"] = {media or "application/octet-stream": {}}
        return out
    content: dict[str, Any] = {"schema": _clean(schema)}
    example = orjson.dumps(first.body)
    if len(example) <= min(EXAMPLE_MAX, budget.left):
        content["example"] = first.body
        budget.left -= len(example)
    else:
        budget.omitted += 1
    out["content"] = {media or "application/json": content}
    return out


def _path(template: str) -> tuple[str | None, list[str]]:
    """The OpenAPI path of a route template, and the names given to its parameters, in order:
    `/users/{id}/keys/{id}` is `/users/{id}/keys/{id2}`, `/users/{}` is `/users/{param1}`."""
    if not template.startswith("/"):
        return None, []
    names: list[str] = []
    segments: list[str] = []
    ids = learned = 0
    for segment in template.split("/"):
        if segment == PARAM:
            ids += 1
            name = "id" if ids == 1 else f"id{ids}"
        elif segment == LEARNED:
            learned += 1
            name = f"param{learned}"
        else:
            # a literal brace would read as a parameter
            segments.append(segment.replace("{", "%7B").replace("}", "%7D"))
            continue
        names.append(name)
        segments.append("{" + name + "}")
    return "/".join(segments) or "/", names


def _path_parameters(found: RouteProfile, names: list[str]) -> list[dict[str, Any]]:
    """A path parameter per templated segment, an integer where every recorded value is
    digits, a uuid where every one is. Recorded values are not shown: a path may hold a token."""
    if not names:
        return []
    positions = [i for i, s in enumerate(found.template.split("/")) if s in (PARAM, LEARNED)]
    out = []
    for name, at in zip(names, positions, strict=True):
        seen = []
        for r in found.recordings:
            segments = path_form(r.interaction.request.path).split("/")
            if at < len(segments):
                seen.append(segments[at])
        schema: dict[str, Any] = {"type": "string"}
        if seen and all(_DIGITS.fullmatch(v) for v in seen):
            schema = {"type": "integer"}
        elif seen and all(_UUID.fullmatch(v) for v in seen):
            schema = {"type": "string", "format": "uuid"}
        out.append({"name": name, "in": "path", "required": True, "schema": schema})
    return out


def _query_parameters(found: RouteProfile) -> list[dict[str, Any]]:
    schema = found.query_schema or {}
    properties = schema.get("properties")
    if not isinstance(properties, dict):
        return []
    required = set(schema.get("required") or ())
    enough = len(found.recordings) >= MIN_VALIDATION_SAMPLES
    return [
        {
            "name": name,
            "in": "query",
            "required": enough and name in required,
            "schema": _clean(properties[name]),
        }
        for name in sorted(properties)
    ]


def _operation_id(method: str, path: str, taken: set[str]) -> str:
    base = f"{method}_{_NOT_NAME.sub('_', path).strip('_') or 'root'}"
    found, n = base, 1
    while found in taken:
        n += 1
        found = f"{base}_{n}"
    taken.add(found)
    return found


def _served(origins: dict[str, list[str]], path: str, origin: str) -> None:
    """Note that `path` was recorded on `origin`: its path item names its servers."""
    server = short_origin(origin)
    if server not in origins.setdefault(path, []):
        origins[path].append(server)


def _also(op: dict[str, Any], found: RouteProfile) -> None:
    op["description"] += f" Also recorded under {found.name}."


def _clean(schema: dict[str, Any]) -> dict[str, Any]:
    """A schema for the document: without its own "$schema" (the document's dialect is
    2020-12 already)."""
    return {k: v for k, v in schema.items() if k != "$schema"}


def _optional(schema: Any) -> Any:
    """`schema` with no property required, at any depth."""
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "required" and isinstance(value, list):
            continue
        if key in ("properties", "patternProperties", "$defs") and isinstance(value, dict):
            out[key] = {name: _optional(s) for name, s in value.items()}
        elif key in ("anyOf", "oneOf", "allOf", "prefixItems") and isinstance(value, list):
            out[key] = [_optional(s) for s in value]
        elif key in ("items", "additionalProperties"):
            out[key] = _optional(value)
        else:
            out[key] = value
    return out
