"""One WireMock stub mapping as virt keeps it: the request its matchers describe (a matcher that
is not an exact value taken as its literal value, and noted; a URL pattern or template kept as
the interaction's pattern too, which replay matches), and the response with its body inline or
from a body file."""

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
from virt.formats.wiremock.common import BODY_DIRS, NAME
from virt.model import Headers, Pattern, PatternKind, Request, RequestPattern, url_text

HOST = "localhost"

_URL_KEYS = ("url", "urlPath", "urlPattern", "urlPathPattern", "urlPathTemplate")
_EXACT_URL_KEYS = ("url", "urlPath")
# the URL matchers replay matches as patterns: (kind, whether the query is part of the match)
_PATTERN_KEYS = {
    "urlPattern": (PatternKind.REGEX, True),
    "urlPathPattern": (PatternKind.REGEX, False),
    "urlPathTemplate": (PatternKind.TEMPLATE, False),
}
# body matchers whose value is the body itself; the rest (matchesJsonPath, ...) describe it
_EXACT_BODY = ("equalTo", "binaryEqualTo", "equalToJson", "equalToXml")
_LITERAL_BODY = (*_EXACT_BODY, "contains", "matches")
_LOOSE_FLAGS = ("ignoreArrayOrder", "ignoreExtraElements", "caseInsensitive", "enablePlaceholders")
_VALUE_MATCHERS = ("equalTo", "contains", "matches", "doesNotMatch", "equalToJson", "equalToXml")

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")


def from_mapping(path: Path, at: str, mapping: dict[str, Any]) -> tuple[Item, tuple[str, ...]]:
    """The interaction (or Skipped) `mapping` stands for, with a note for each matcher taken as
    its literal value; `at` is where the mapping sits in its file ("" or "mappings[3].")."""
    rq = mapping.get("request")
    if not isinstance(rq, dict):
        raise ImportFormatError(path, f"{at}request", "expected an object")
    rs = mapping.get("response")
    if rs is None:
        return Skipped(f"{at}response", "no response in this mapping"), ()
    if not isinstance(rs, dict):
        raise ImportFormatError(path, f"{at}response", "expected an object")
    if "fault" in rs:
        return Skipped(f"{at}response", f"a fault ({rs['fault']}), not a response"), ()
    if "proxyBaseUrl" in rs:
        return Skipped(f"{at}response", "a proxy stub: no recorded response"), ()
    loose: list[str] = []
    request = _request(path, at, rq, loose)
    body = _response_body(path, at, rs)
    if isinstance(body, Skipped):
        return body, tuple(loose)
    status = _status(rs.get("status", 200))
    if status is None:
        got = rs.get("status")
        raise ImportFormatError(path, f"{at}response.status", f"expected 100-599, got {got!r}")
    reason = rs.get("statusMessage")
    headers = _headers(path, f"{at}response.headers", rs.get("headers"))
    if rs.get("transformers"):
        loose.append(f"{at}response.transformers: templated body imported as written")
    # WireMock keeps bodies decoded; an empty one has no coding, whatever the headers say
    response = response_from(
        status, headers, body, encoded=not body, reason=reason if isinstance(reason, str) else ""
    )
    interaction = make_interaction(request, response, source=path, source_format=NAME)
    pattern = _pattern(rq)
    if pattern is not None:
        interaction = replace(interaction, pattern=pattern)
    return interaction, tuple(loose)


def _status(value: Any) -> int | None:
    """The status as an int: WireMock also takes it as a string ("400"), as real files have."""
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        value = int(value.strip()) if len(value.strip()) <= 3 else None
    if not isinstance(value, int) or isinstance(value, bool) or not 100 <= value <= 599:
        return None
    return value


def _pattern(rq: dict[str, Any]) -> RequestPattern | None:
    """The URL pattern replay matches for this stub, when its URL matcher is one: the first URL
    key WireMock would use, as _url reads it."""
    for key in _URL_KEYS:
        value = rq.get(key)
        if value is None:
            continue
        if key not in _PATTERN_KEYS or not isinstance(value, str):
            return None
        kind, with_query = _PATTERN_KEYS[key]
        return RequestPattern(path=Pattern(kind, value), with_query=with_query)
    return None


def _request(path: Path, at: str, rq: dict[str, Any], loose: list[str]) -> Request:
    method = rq.get("method")
    if not isinstance(method, str) or not method or method.upper() == "ANY":
        loose.append(f"{at}request.method {method!r}: imported as GET")
        method = "GET"
    if not _TOKEN.match(method):
        raise ImportFormatError(path, f"{at}request.method", f"not an HTTP method: {method!r}")
    target, _, query = _url(path, at, rq, loose).partition("?")
    return Request(
        method=method.upper(),
        scheme="http",
        host=HOST,
        port=80,
        path=url_text(_text_bytes(target)),
        query=url_text(_text_bytes(query)),
        headers=_request_headers(path, at, rq, loose),
        body=_request_body(path, at, rq.get("bodyPatterns"), loose),
    )


def _url(path: Path, at: str, rq: dict[str, Any], loose: list[str]) -> str:
    for key in _URL_KEYS:
        value = rq.get(key)
        if value is None:
            continue
        if not isinstance(value, str):
            raise ImportFormatError(path, f"{at}request.{key}", "expected a string")
        if key not in _EXACT_URL_KEYS:
            what = "a template" if key == "urlPathTemplate" else "a regex"
            loose.append(f"{at}request.{key} ({what}): matched as a pattern, kept as the example")
        url = value if value.startswith("/") else "/" + value
        if key in ("urlPath", "urlPathPattern", "urlPathTemplate"):
            query = _query(path, at, rq.get("queryParameters"), loose)
            if query:
                url = f"{url}?{query}"
        return url
    loose.append(f"{at}request: no URL matcher (any URL): imported as /")
    return "/"


def _query(path: Path, at: str, params: Any, loose: list[str]) -> str:
    if not params:
        return ""
    if not isinstance(params, dict):
        raise ImportFormatError(path, f"{at}request.queryParameters", "expected an object")
    pairs = []
    for name, matcher in params.items():
        for value in _matcher_values(path, f"{at}request.queryParameters.{name}", matcher, loose):
            pairs.append(f"{_quoted(str(name))}={_quoted(value)}")
    return "&".join(pairs)


def _matcher_values(path: Path, where: str, matcher: Any, loose: list[str]) -> list[str]:
    """The literal values of a header or query matcher; none for "absent"."""
    if isinstance(matcher, str):
        return [matcher]
    if not isinstance(matcher, dict):
        raise ImportFormatError(path, where, "expected a matcher object")
    if matcher.get("absent") is True:
        return []
    if "hasExactly" in matcher or "includes" in matcher:
        loose.append(f"{where}: multi-value matcher imported as its literal values")
        out: list[str] = []
        for m in matcher.get("hasExactly") or matcher.get("includes") or []:
            if isinstance(m, dict | str):
                out += _matcher_values(path, where, m, [])
        return out
    for key in _VALUE_MATCHERS:
        if key in matcher:
            value = matcher[key]
            if key != "equalTo" or matcher.get("caseInsensitive"):
                loose.append(f"{where}: {key} imported as its literal value")
            return [value if isinstance(value, str) else json.dumps(value)]
    loose.append(f"{where}: matcher {sorted(matcher)} has no value: left out")
    return []


def _request_headers(path: Path, at: str, rq: dict[str, Any], loose: list[str]) -> Headers:
    out: list[tuple[str, str]] = []
    headers = rq.get("headers")
    if headers:
        if not isinstance(headers, dict):
            raise ImportFormatError(path, f"{at}request.headers", "expected an object")
        for name, matcher in headers.items():
            for value in _matcher_values(path, f"{at}request.headers.{name}", matcher, loose):
                out.append((str(name), value))
    auth = rq.get("basicAuth") or rq.get("basicAuthCredentials")
    if isinstance(auth, dict):
        credentials = f"{auth.get('username', '')}:{auth.get('password', '')}"
        token = base64.b64encode(_text_bytes(credentials)).decode("ascii")
        out.append(("Authorization", f"Basic {token}"))
    cookies = rq.get("cookies")
    if isinstance(cookies, dict) and cookies:
        crumbs = []
        for name, matcher in cookies.items():
            for value in _matcher_values(path, f"{at}request.cookies.{name}", matcher, loose):
                crumbs.append(f"{name}={value}")
        if crumbs:
            out.append(("Cookie", "; ".join(crumbs)))
    return tuple(out)


def _request_body(path: Path, at: str, patterns: Any, loose: list[str]) -> bytes:
    if not patterns:
        return b""
    where = f"{at}request.bodyPatterns"
    if not isinstance(patterns, list):
        raise ImportFormatError(path, where, "expected a list")
    candidates = [p for p in patterns if isinstance(p, dict)]
    exact = [p for p in candidates if any(k in p for k in _EXACT_BODY) and not _loosened(p)]
    literal = [p for p in candidates if any(k in p for k in _LITERAL_BODY)]
    if not exact:
        for i, p in enumerate(candidates):
            kinds = ", ".join(sorted(k for k in p if k not in _LOOSE_FLAGS)) or "?"
            loose.append(f"{where}[{i}] ({kinds}): not an exact body")
    if not (exact or literal):
        return b""
    chosen = (exact or literal)[0]
    for key in _LITERAL_BODY:
        if key in chosen:
            value = chosen[key]
            if key == "binaryEqualTo":
                return _b64(path, f"{where}.binaryEqualTo", value)
            return _json_bytes(value)
    return b""


def _loosened(pattern: dict[str, Any]) -> bool:
    return any(pattern.get(flag) for flag in _LOOSE_FLAGS)


def _headers(path: Path, where: str, value: Any) -> Headers:
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise ImportFormatError(path, where, "expected an object of header values")
    return headers_from(value)


def _response_body(path: Path, at: str, rs: dict[str, Any]) -> bytes | Skipped:
    if "base64Body" in rs:
        return _b64(path, f"{at}response.base64Body", rs["base64Body"])
    if "jsonBody" in rs:
        return _json_bytes(rs["jsonBody"], always=True)
    if "body" in rs:
        body = rs["body"]
        if body is None:
            return b""
        return _json_bytes(body)
    name = rs.get("bodyFileName")
    if name is None:
        return b""
    if not isinstance(name, str) or not name:
        raise ImportFormatError(path, f"{at}response.bodyFileName", "expected a file name")
    return _body_file(path, at, name)


def _body_file(path: Path, at: str, name: str) -> bytes | Skipped:
    """The body file `name` from the body folder beside `mappings` (or beside the mapping).

    A name that leads out of its body folder (an absolute path, "..") is not followed: a
    recording must not make the import read any other file.
    """
    roots = [path.parent.parent, path.parent] if path.parent.name == "mappings" else [path.parent]
    for root in roots:
        for folder in BODY_DIRS:
            base = root / folder
            candidate = base / name
            try:
                if not candidate.resolve().is_relative_to(base.resolve()):
                    return Skipped(
                        f"{at}response.bodyFileName",
                        f"body file {name!r} is outside the body folder: not read",
                    )
                if candidate.is_file():
                    return candidate.read_bytes()
            except (OSError, ValueError) as e:  # ValueError: a NUL in the name
                raise ImportFormatError(
                    path, f"{at}response.bodyFileName", f"cannot read {candidate}: {e}"
                ) from e
    return Skipped(
        f"{at}response.bodyFileName",
        f"body file {name!r} not found in {roots[0] / BODY_DIRS[0]} (nor in _files or files)",
    )


def _json_bytes(value: Any, *, always: bool = False) -> bytes:
    """A body given as text (or, with `always` or when not text, as JSON), UTF-8 encoded."""
    if isinstance(value, str) and not always:
        return _text_bytes(value)
    return _text_bytes(json.dumps(value, separators=(",", ":"), ensure_ascii=False))


def _text_bytes(text: str) -> bytes:
    """UTF-8, keeping a lone surrogate (JSON allows "\\udc80") as bytes instead of failing."""
    try:
        return text.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _quoted(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass")


def _b64(path: Path, where: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise ImportFormatError(path, where, "expected a base64 string")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError) as e:
        raise ImportFormatError(path, where, f"not valid base64: {e}") from e
