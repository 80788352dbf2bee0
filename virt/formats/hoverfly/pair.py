"""One Hoverfly pair as virt keeps it: the request its fields describe, read by shape whatever
the schema (a matcher that is not exact taken as its literal value, a field left out as its
default, each noted; a glob or regex on the destination or path kept as the interaction's
pattern too, which replay matches), and the response with its body inline, encoded or from a
bodyFile."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import quote

from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    headers_from,
    make_interaction,
    response_from,
)
from virt.formats.hoverfly.common import NAME, PATH_SAFE, is_count
from virt.model import DEFAULT_PORTS, Headers, Pattern, PatternKind, Request, RequestPattern

HOST = "localhost"

# v2 to v4 matcher objects, by the v5 matcher name they became
_V2_MATCHERS = {
    "exactMatch": "exact",
    "globMatch": "glob",
    "regexMatch": "regex",
    "xmlMatch": "xml",
    "jsonMatch": "json",
    "xpathMatch": "xpath",
    "jsonPathMatch": "jsonpath",
}
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_HOST = re.compile(r"[\s/?#@\\\ud800-\udfff]")


def from_pair(path: Path, where: str, pair: Any, recorded_at: str = "") -> tuple[Item, list[str]]:
    """The interaction (or Skipped) `pair` (or a journal entry) stands for, with a note for each
    matcher taken as its literal value and each field left out."""
    if not isinstance(pair, dict):
        raise ImportFormatError(path, where, "expected an object")
    rq = pair.get("request", pair.get("requestTemplate"))
    rs = pair.get("response")
    if rq is None and rs is None:
        why = "a delay setting, not an exchange" if "delay" in pair else "no request or response"
        return Skipped(where, why), []
    if not isinstance(rs, dict):
        return Skipped(f"{where}.response", "no response: nothing to replay"), []
    if rq is None:
        rq = {}
    if not isinstance(rq, dict):
        raise ImportFormatError(path, f"{where}.request", "expected an object")
    loose: list[str] = []
    at = f"{where}.{'requestTemplate' if 'requestTemplate' in pair else 'request'}"
    request, pattern = _request(path, at, rq, loose)
    status = rs.get("status")
    if status is None:
        return Skipped(f"{where}.response", "response has no status"), loose
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ImportFormatError(path, f"{where}.response.status", f"expected 100-599: {status!r}")
    body = _response_body(path, f"{where}.response", rs)
    if isinstance(body, Skipped):
        return body, loose
    if rs.get("templated") is True:
        loose.append(f"{where}.response.templated: template imported as written")
    headers = _headers(path, f"{where}.response.headers", rs.get("headers"), [])
    # an empty body has no coding, whatever a Content-Encoding header says (a 304, say)
    encoded = rs.get("encodedBody") is True or not body
    response = response_from(status, headers, body, encoded=encoded)
    interaction = make_interaction(
        request, response, source=path, source_format=NAME, recorded_at=recorded_at
    )
    if pattern is not None:
        interaction = replace(interaction, pattern=pattern)
    return interaction, loose


def _pick(value: Any, *, template: bool = False) -> tuple[str, Any] | None:
    """(matcher, value) of a request field in any schema's shape, an exact one preferred;
    None when the field is left out."""
    if value is None:
        return None
    if isinstance(value, str):
        # v1: a "template" request matches a field with "*" as a glob
        return ("glob" if template and "*" in value else "exact"), value
    if isinstance(value, dict):
        if "matcher" in value or "value" in value:
            return _matcher(value)
        for key, name in _V2_MATCHERS.items():
            if key in value:
                return name, value[key]
        return None
    if isinstance(value, list):
        picked = [_matcher(m) if isinstance(m, dict) else ("exact", m) for m in value]
        if not picked:
            return None
        return next((p for p in picked if p[0] == "exact"), picked[0])
    return "exact", value


def _matcher(view: dict[str, Any]) -> tuple[str, Any]:
    name = view.get("matcher")
    return (name.lower() if isinstance(name, str) and name else "exact"), view.get("value")


# Hoverfly's matchers that replay matches as patterns on the destination and the path
_PATTERN_KINDS = {"glob": PatternKind.GLOB, "regex": PatternKind.SEARCH}


def _request(
    path: Path, at: str, rq: dict[str, Any], loose: list[str]
) -> tuple[Request, RequestPattern | None]:
    """The request a pair describes, and the pattern of its destination and path when either
    is a glob or a regex (Hoverfly's regex matcher finds its pattern anywhere in the value)."""
    template = rq.get("requestType") == "template" or at.endswith("requestTemplate")
    patterns: dict[str, Pattern] = {}

    def text(field: str, default: str) -> str:
        picked = _pick(rq.get(field), template=template)
        if picked is None:
            loose.append(f"{at}.{field}: left out (any value): imported as {default!r}")
            return default
        kind, value = picked
        if not isinstance(value, str):
            loose.append(f"{at}.{field}: {kind} matcher without a text value: {default!r}")
            return default
        if field in ("destination", "path") and kind in _PATTERN_KINDS:
            patterns[field] = Pattern(_PATTERN_KINDS[kind], value)
            loose.append(f"{at}.{field}: {kind} matcher matched as a pattern, kept as the example")
        elif kind != "exact":
            loose.append(f"{at}.{field}: {kind} matcher imported as its literal value")
        return value

    method = text("method", "GET").upper() or "GET"
    if not _TOKEN.match(method):
        raise ImportFormatError(path, f"{at}.method", f"not an HTTP method: {method!r}")
    scheme = text("scheme", "http").lower()
    if scheme not in DEFAULT_PORTS:
        if scheme:
            loose.append(f"{at}.scheme: {scheme!r} imported as 'http'")
        scheme = "http"
    destination = text("destination", HOST)
    try:
        host, port = _destination(path, f"{at}.destination", destination, scheme)
    except ImportFormatError:
        if "destination" not in patterns:
            raise
        host, port = HOST, DEFAULT_PORTS[scheme]  # a regex is no host: the pattern says which
    raw_path = text("path", "/")
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    query = _query(path, at, rq, loose, template)
    body = _request_body(path, f"{at}.body", _pick(rq.get("body"), template=template), loose)
    headers = _headers(path, f"{at}.headers", rq.get("headers"), loose)
    request = Request(
        method=method,
        scheme=scheme,
        host=host,
        port=port,
        path=quote(raw_path, safe=PATH_SAFE, errors="surrogatepass"),
        query=query,
        headers=headers,
        body=body,
    )
    if not patterns:
        return request, None
    return request, RequestPattern(host=patterns.get("destination"), path=patterns.get("path"))


def _destination(path: Path, where: str, value: str, scheme: str) -> tuple[str, int]:
    """(host, port) of a Hoverfly destination: "host", "host:port" or "[v6]:port"."""
    host, port = value.strip(), ""
    if host.startswith("["):
        host, _, rest = host[1:].partition("]")
        port = rest.removeprefix(":")
    elif host.count(":") == 1:
        host, _, port = host.partition(":")
    if not host:
        host = HOST
    if _BAD_HOST.search(host):
        raise ImportFormatError(path, where, f"not a host: {value!r}")
    if not port:
        return host.lower(), DEFAULT_PORTS[scheme]
    if not is_count(port) or not 0 < int(port) < 65536:
        raise ImportFormatError(path, where, f"bad port in destination {value!r}")
    return host.lower(), int(port)


def _query(path: Path, at: str, rq: dict[str, Any], loose: list[str], template: bool) -> str:
    value = rq.get("query")
    if isinstance(value, dict) and value and all(isinstance(v, list) for v in value.values()):
        return _query_map(at, value, loose)
    if isinstance(value, dict) and not value:
        value = None  # v5 with no query matchers
    for field, candidate in (("query", value), ("deprecatedQuery", rq.get("deprecatedQuery"))):
        picked = _pick(candidate, template=template)
        if picked is None:
            continue
        kind, text = picked
        if not isinstance(text, str):
            raise ImportFormatError(path, f"{at}.{field}", "expected a query string")
        if kind != "exact":
            loose.append(f"{at}.{field}: {kind} matcher imported as its literal value")
        return text.removeprefix("?")
    return ""


def _query_map(at: str, matchers: dict[str, list[Any]], loose: list[str]) -> str:
    """A v5 query object as a query string; values are decoded in Hoverfly, encoded here."""
    pairs = []
    for name, views in matchers.items():
        picked = _pick(views)
        if picked is None:
            continue
        kind, value = picked
        if isinstance(value, list):  # the "array" matcher: every value
            values = [str(v) for v in value]
        elif kind == "exact" and isinstance(value, str):
            values = value.split(";")
        else:
            values = [value if isinstance(value, str) else json.dumps(value)]
        if kind != "exact":
            loose.append(f"{at}.query.{name}: {kind} matcher imported as its literal value")
        pairs += [f"{_quoted(name)}={_quoted(v)}" for v in values]
    return "&".join(pairs)


def _request_body(
    path: Path, where: str, picked: tuple[str, Any] | None, loose: list[str]
) -> bytes:
    if picked is None:
        return b""
    kind, value = picked
    if kind != "exact":
        loose.append(f"{where}: {kind} matcher imported as its literal value")
    if kind == "form" and isinstance(value, dict):
        fields = []
        for name, views in value.items():
            field = _pick(views)
            text = field[1] if field else ""
            fields.append(
                f"{_quoted(name)}={_quoted(text if isinstance(text, str) else str(text))}"
            )
        return "&".join(fields).encode("ascii")
    if value is None:
        return b""
    if not isinstance(value, str):
        value = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return _text_bytes(value)


def _text_bytes(text: str) -> bytes:
    # virt's writer keeps a body that is not UTF-8 as lone surrogates ("\udc80" escapes)
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _headers(path: Path, where: str, value: Any, loose: list[str]) -> Headers:
    if not value:
        return ()
    if not isinstance(value, dict):
        raise ImportFormatError(path, where, "expected an object of header values")
    plain: dict[str, list[str]] = {}
    for name, values in value.items():
        views = values if isinstance(values, list) else [values]
        out = plain.setdefault(str(name), [])
        for view in views:
            if isinstance(view, dict):
                kind, literal = _matcher(view)
                if kind != "exact":
                    loose.append(f"{where}.{name}: {kind} matcher imported as its literal value")
                if isinstance(literal, list):
                    out += [str(v) for v in literal]
                elif literal is not None:
                    out.append(literal if isinstance(literal, str) else json.dumps(literal))
            elif view is not None:
                out.append(str(view))
    return headers_from(plain)


def _response_body(path: Path, where: str, rs: dict[str, Any]) -> bytes | Skipped:
    body = rs.get("body")
    if body is not None and not isinstance(body, str):
        raise ImportFormatError(path, f"{where}.body", "expected a string")
    file = rs.get("bodyFile")
    if not body and isinstance(file, str) and file:
        return _body_file(path, f"{where}.bodyFile", file)
    if not body:
        return b""
    if rs.get("encodedBody") is True:
        try:
            return base64.b64decode(body, validate=False)
        except (binascii.Error, ValueError) as e:
            raise ImportFormatError(path, f"{where}.body", f"not valid base64: {e}") from e
    return _text_bytes(body)


def _body_file(path: Path, where: str, name: str) -> bytes | Skipped:
    """The file `name` relative to the simulation's folder, never one outside it."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", name, re.IGNORECASE):
        return Skipped(where, f"body file {name!r} is a URL: virt does not fetch it")
    base = path.parent
    candidate = base / name
    try:
        if not candidate.resolve().is_relative_to(base.resolve()):
            return Skipped(
                where, f"body file {name!r} is outside the simulation's folder: not read"
            )
        if not candidate.is_file():
            return Skipped(where, f"body file {name!r} not found beside {path.name}")
        return candidate.read_bytes()
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        raise ImportFormatError(path, where, f"cannot read {candidate}: {e}") from e


def _quoted(text: str) -> str:
    """Percent-encoded UTF-8; a lone surrogate from a byte that was not UTF-8 as that byte."""
    try:
        return quote(text, safe="", errors="surrogateescape")
    except UnicodeEncodeError:
        return quote(text, safe="", errors="surrogatepass")
