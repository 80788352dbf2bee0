"""WireMock stub mappings: read recorded mapping files or folders, and write a mappings folder.

WireMock mappings carry no host, so every request imports as http://localhost:80 (scheme
"http", host "localhost", port 80); virt's direct door answers them as the only recorded host.

A recording is a mapping file (one mapping, or {"mappings": [...]}) whose response body is
inline (body, jsonBody, base64Body) or in a body file: bodyFileName resolves against the
`__files` folder beside the `mappings` folder (older recordings use `_files` or `files`). Body
files hold the body as WireMock serves it, decoded, even when a Content-Encoding header is kept.

Order: WireMock answers a repeated request from scenario states, not from file order. Within
one file set (a file, or every mapping file of a `mappings` folder when a folder is read) the
interactions are yielded by insertionIndex (else by file name, numbers compared as numbers),
and the mappings of each scenario are put in chain order ("Started" -> ...) within the places
they take, so a polled endpoint replays pending, pending, done.

A matcher that is not an exact value (urlPattern, contains, matches, equalToJson with ignore
flags, ...) imports as its literal value, so the request can be replayed exactly as written;
`inexact(path)` lists such places for import reports.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import uuid
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import quote

from virt.errors import ConfigError
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    head,
    headers_from,
    make_interaction,
    response_from,
)
from virt.model import Headers, Interaction, Request, url_text

NAME = "wiremock"
HOST = "localhost"
BODY_DIRS = ("__files", "_files", "files")
STARTED = "Started"

_URL_KEYS = ("url", "urlPath", "urlPattern", "urlPathPattern")
_EXACT_URL_KEYS = ("url", "urlPath")
# body matchers whose value is the body itself; the rest (matchesJsonPath, ...) describe it
_EXACT_BODY = ("equalTo", "binaryEqualTo", "equalToJson", "equalToXml")
_LITERAL_BODY = (*_EXACT_BODY, "contains", "matches")
_LOOSE_FLAGS = ("ignoreArrayOrder", "ignoreExtraElements", "caseInsensitive", "enablePlaceholders")
_VALUE_MATCHERS = ("equalTo", "contains", "matches", "doesNotMatch", "equalToJson", "equalToXml")

_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_OBJECT_START = re.compile(rb"^\s*(\xef\xbb\xbf)?\s*\{")
_MAPPINGS = re.compile(rb'"mappings"\s*:\s*\[')
_REQUEST = re.compile(rb'"request"\s*:\s*\{')
_WIREMOCK_KEYS = re.compile(
    rb'"(?:url"\s*:\s*"/|urlPath"|urlPattern"|urlPathPattern"|bodyPatterns"|equalTo"|'
    rb'bodyFileName"|insertionIndex"|scenarioName"|base64Body"|jsonBody")'
)
# structural keys of other formats that share "request": VCR, Betamax, HAR, Hoverfly
_FOREIGN_KEYS = re.compile(
    rb'"(?:interactions|http_interactions|recorded_with|httpVersion|startedDateTime|pairs|'
    rb'journal)"\s*:'
)


class WireMockReader:
    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        """A mapping file, a `mappings` folder, or a WireMock root (a folder with `mappings`);
        never a body file under `__files` (or `_files`/`files` beside `mappings`)."""
        try:
            if path.is_dir():
                return path.name == "mappings" or (path / "mappings").is_dir()
            if not path.is_file() or _in_body_dir(path):
                return False
        except OSError:
            return False
        text = head(path)
        if not _OBJECT_START.match(text) or _FOREIGN_KEYS.search(text):
            return False
        if _MAPPINGS.search(text):
            return True
        return bool(_REQUEST.search(text) and _WIREMOCK_KEYS.search(text))

    def read(self, path: Path) -> Iterator[Item]:
        """A mapping file's interactions, or, for a folder, those of every mapping file under
        it, one file set (`mappings` folder) at a time, each set in recorded order."""
        for entry in _ordered_entries(path):
            yield entry.item


class WireMockWriter:
    name: ClassVar[str] = NAME

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        """Write `path`/mappings/<id>.json, one mapping per interaction, bodies inline.

        Requests match on method, URL and the exact body; headers are not matched and the host
        is not kept (WireMock has none). Repeats of one request become a scenario, so WireMock
        and virt replay their responses in the recorded order.
        """
        items = list(interactions)
        keys = [_request_key(i.request) for i in items]
        total: dict[bytes, int] = {}
        for key in keys:
            total[key] = total.get(key, 0) + 1
        folder = path / "mappings"
        try:
            if path.exists() and not path.is_dir():
                raise ConfigError(
                    f"{path} is a file", hint="WireMock export writes a folder: name a folder"
                )
            folder.mkdir(parents=True, exist_ok=True)
            seen: dict[bytes, int] = {}
            for index, (interaction, key) in enumerate(zip(items, keys, strict=True)):
                occurrence = seen.get(key, 0)
                seen[key] = occurrence + 1
                mapping = _mapping(interaction, key, index, occurrence, total[key])
                text = json.dumps(mapping, indent=2, ensure_ascii=False) + "\n"
                (folder / f"{mapping['id']}.json").write_text(text, encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from e
        return len(items)


READER = WireMockReader()
WRITER = WireMockWriter()


def inexact(path: Path) -> list[str]:
    """Where `path` (a file or folder) uses a matcher that is not an exact value, each as
    "file: where: what"; such requests import as the matcher's literal value."""
    return [f"{e.source}: {note}" for e in _ordered_entries(path) for note in e.loose]


# reading


@dataclass(slots=True)
class _Entry:
    item: Item
    source: Path
    where: str
    loose: tuple[str, ...]
    file_order: tuple[Any, ...]
    insertion: float
    scenario: str | None
    required: str | None
    new_state: str | None


def _ordered_entries(path: Path) -> Iterator[_Entry]:
    if path.is_dir():
        for files in _file_sets(path):
            entries = [e for f in files for e in _file_entries(f)]
            for e in entries:
                if isinstance(e.item, Skipped):  # say which file of the folder
                    where = e.source.relative_to(path).as_posix()
                    e.item = Skipped(
                        f"{where}: {e.item.where}" if e.item.where else where, e.item.why
                    )
            yield from _in_recorded_order(entries)
    else:
        yield from _in_recorded_order(list(_file_entries(path)))


def _file_sets(root: Path) -> Iterator[list[Path]]:
    """The JSON files under `root`, grouped by folder; body folders and hidden ones left out."""
    for folder, dirs, files in os.walk(root):
        here = Path(folder)
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in BODY_DIRS)
        group = [here / f for f in files if f.endswith(".json") and not f.startswith(".")]
        if group:
            yield sorted(group, key=lambda p: _natural(p.name))


def _is_body_dir(path: Path, name: str) -> bool:
    if name == "__files":
        return True
    return name in BODY_DIRS and (path.parent / "mappings").is_dir()


def _in_body_dir(path: Path, *, loosely: bool = False) -> bool:
    """Under __files (or _files/files beside mappings; any of the three when `loosely`)."""
    for parent in path.parents:
        if parent.name == "mappings":
            return False
        if parent.name in BODY_DIRS and (loosely or _is_body_dir(parent, parent.name)):
            return True
    return False


def _natural(name: str) -> tuple[Any, ...]:
    """Sort key that puts "2-user.json" before "10-user.json"."""
    parts = re.split(r"(\d+)", name, flags=re.ASCII)
    return tuple(int(p) if i % 2 else p for i, p in enumerate(parts))


def _file_entries(path: Path) -> Iterator[_Entry]:
    try:
        doc = _load(path)
    except ImportFormatError:
        if not _in_body_dir(path, loosely=True):
            raise
        doc = None
    if isinstance(doc, dict) and isinstance(doc.get("mappings"), list):
        mappings: list[tuple[str, Any]] = [
            (f"mappings[{i}]", m) for i, m in enumerate(doc["mappings"])
        ]
    elif isinstance(doc, dict) and "request" in doc:
        mappings = [("", doc)]
    else:
        # JSON that is no mapping is most likely a body: WireMock roots keep them beside the
        # mappings too, and forcing the format on a folder's every file reaches them
        yield _passed_over(path, "", 'not a WireMock mapping (no "request" or "mappings")')
        return
    if not mappings:
        yield _passed_over(path, "mappings", "the file holds no mappings")
    for position, (where, mapping) in enumerate(mappings):
        yield _entry(path, where, mapping, (*_natural(path.name), position))


def _passed_over(path: Path, where: str, why: str) -> _Entry:
    return _Entry(
        Skipped(where, why), path, where, (), _natural(path.name), float("inf"), None, None, None
    )


def _load(path: Path) -> Any:
    try:
        text = path.read_bytes().decode("utf-8-sig")
        return json.loads(text)
    except OSError as e:
        raise ImportFormatError(path, "", f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ImportFormatError(path, "", f"not UTF-8 text: {e}") from e
    except ValueError as e:  # JSONDecodeError, or an integer too long to convert
        raise ImportFormatError(path, "", f"not valid JSON: {e}") from e
    except RecursionError as e:
        raise ImportFormatError(path, "", "JSON nested too deeply") from e


def _entry(path: Path, where: str, mapping: Any, file_order: tuple[Any, ...]) -> _Entry:
    at = f"{where}." if where else ""
    if not isinstance(mapping, dict):
        raise ImportFormatError(path, where or "mapping", "expected an object")
    index = mapping.get("insertionIndex")
    insertion = float("inf")
    if isinstance(index, int | float) and not isinstance(index, bool) and abs(index) < 2**53:
        insertion = float(index)
    scenario = mapping.get("scenarioName")
    required = mapping.get("requiredScenarioState")
    new_state = mapping.get("newScenarioState")
    item, loose = _item(path, at, mapping)
    return _Entry(
        item,
        path,
        where or "mapping",
        loose,
        file_order,
        insertion,
        scenario if isinstance(scenario, str) else None,
        required if isinstance(required, str) else None,
        new_state if isinstance(new_state, str) else None,
    )


def _item(path: Path, at: str, mapping: dict[str, Any]) -> tuple[Item, tuple[str, ...]]:
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
    status = rs.get("status", 200)
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise ImportFormatError(path, f"{at}response.status", f"expected 100-599, got {status!r}")
    reason = rs.get("statusMessage")
    headers = _headers(path, f"{at}response.headers", rs.get("headers"))
    if rs.get("transformers"):
        loose.append(f"{at}response.transformers: templated body imported as written")
    # WireMock keeps bodies decoded; an empty one has no coding, whatever the headers say
    response = response_from(
        status, headers, body, encoded=not body, reason=reason if isinstance(reason, str) else ""
    )
    return make_interaction(request, response, source=path, source_format=NAME), tuple(loose)


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
            loose.append(f"{at}request.{key} (a regex): imported as its literal value")
        url = value if value.startswith("/") else "/" + value
        if key in ("urlPath", "urlPathPattern"):
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


def _in_recorded_order(entries: list[_Entry]) -> list[_Entry]:
    """By insertionIndex, then file order; each scenario's mappings in chain order, in the
    places its mappings take."""
    ordered = sorted(entries, key=lambda e: (e.insertion, e.file_order))
    scenarios: dict[str, list[int]] = {}
    for index, e in enumerate(ordered):
        if e.scenario is not None and e.required is not None:
            scenarios.setdefault(e.scenario, []).append(index)
    for places in scenarios.values():
        members = [ordered[i] for i in places]
        depth = _state_depths(members)
        chained = sorted(
            range(len(members)), key=lambda k: (depth.get(members[k].required or "", len(depth)), k)
        )
        for place, k in zip(places, chained, strict=True):
            ordered[place] = members[k]
    return ordered


def _state_depths(members: list[_Entry]) -> dict[str, int]:
    """Steps from "Started" to each scenario state, following required -> new transitions."""
    moves: dict[str, list[str]] = {}
    for e in members:
        if e.required is not None and e.new_state is not None:
            moves.setdefault(e.required, []).append(e.new_state)
    depth = {STARTED: 0}
    queue = deque([STARTED])
    while queue:
        state = queue.popleft()
        for nxt in moves.get(state, []):
            if nxt not in depth:
                depth[nxt] = depth[state] + 1
                queue.append(nxt)
    return depth


# writing


def _request_key(request: Request) -> bytes:
    """What a WireMock mapping written by virt matches on: method, URL and body."""
    return b"\0".join(
        (
            request.method.upper().encode(),
            request.target.encode("utf-8", "surrogateescape"),
            hashlib.sha256(request.body).digest(),
        )
    )


def _mapping(
    interaction: Interaction, key: bytes, index: int, occurrence: int, total: int
) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    digest = hashlib.sha256(key).hexdigest()
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"virt:wiremock:{digest}:{occurrence}"))
    rq: dict[str, Any] = {"url": request.target, "method": request.method.upper()}
    if request.body:
        try:
            rq["bodyPatterns"] = [{"equalTo": request.body.decode("utf-8")}]
        except UnicodeDecodeError:
            rq["bodyPatterns"] = [{"binaryEqualTo": base64.b64encode(request.body).decode()}]
    rs: dict[str, Any] = {"status": response.status}
    if response.reason:
        rs["statusMessage"] = response.reason
    if response.body:
        try:
            rs["body"] = response.body.decode("utf-8")
        except UnicodeDecodeError:
            rs["base64Body"] = base64.b64encode(response.body).decode("ascii")
    if response.headers:
        rs["headers"] = _grouped(response.headers)
    mapping: dict[str, Any] = {
        "id": mapping_id,
        "name": _slug(request),
        "request": rq,
        "response": rs,
        "uuid": mapping_id,
        "persistent": True,
        "insertionIndex": index + 1,
    }
    if total > 1:
        # WireMock's recorder names states the same way: Started, <name>-2, <name>-3, ...
        scenario = f"scenario-{digest[:12]}-{_slug(request)}"
        mapping["scenarioName"] = scenario
        mapping["requiredScenarioState"] = (
            STARTED if occurrence == 0 else f"{scenario}-{occurrence + 1}"
        )
        if occurrence + 1 < total:
            mapping["newScenarioState"] = f"{scenario}-{occurrence + 2}"
    return mapping


def _grouped(headers: Headers) -> dict[str, str | list[str]]:
    """WireMock's header object: repeats of a name gathered, as a list, where it first appears."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in out.items()}


def _slug(request: Request) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", f"{request.method} {request.path}".lower()).strip("-")
    return words[:60].rstrip("-") or "root"
