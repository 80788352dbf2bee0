"""Hoverfly simulations (schema v1 to v5) and journals: read them, and write a v5 simulation.

Each request field comes in the shape of its schema generation, and files in the wild mix them
or mislabel their version, so fields are read by shape rather than converted version by
version: a plain string (v1 and journals), a {"exactMatch": ...} object (v2 to v4), or a list
of {"matcher", "value"} objects (v5). A schemaVersion newer than v5 is refused by name.

A matcher that is not exact (glob, regex, jsonpath, form, ...) imports as its literal value, and
a field left out (any value matches) takes a default: method GET, scheme http, host localhost,
path /. `inexact(path)` lists such places for import reports. Paths and v5 query values are
kept decoded by Hoverfly and are percent-encoded again on import; exact query values holding
";" are split, as Hoverfly joins repeated parameters with ";" when it matches.

Responses: encodedBody means base64 of the bytes as sent (so still in their Content-Encoding);
bodyFile is read relative to the simulation file and never from outside its folder.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import re
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

from virt import encoding
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
from virt.model import DEFAULT_PORTS, Headers, Interaction, Request, header
from virt.normalize import exact_key

NAME = "hoverfly"
NEWEST_SCHEMA = 5
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
_SEQUENCE = "sequence:"
# characters a path keeps as they are when percent-encoded again (RFC 3986 pchar, "/" and "%")
_PATH_SAFE = "/%!$&'()*+,;=:@"

_OBJECT_START = re.compile(rb"^\s*(\xef\xbb\xbf)?\s*\{")
_JOURNAL = re.compile(rb'"journal"\s*:\s*\[')
_PAIRS = re.compile(rb'"pairs"\s*:\s*\[')
_DATA = re.compile(rb'"data"\s*:\s*[\[{]')
_DATA_LIST = re.compile(rb'"data"\s*:\s*\[')
_SCHEMA = re.compile(rb'"schemaVersion"\s*:\s*"v\d')
_DESTINATION = re.compile(rb'"destination"\s*:')
_DELAY = re.compile(rb'"urlPattern"\s*:.*"delay"\s*:', re.DOTALL)
_SURROGATE = re.compile("[\ud800-\udfff]")
_VERSION = re.compile(r"v?(\d+)", re.ASCII)
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
_BAD_HOST = re.compile(r"[\s/?#@\\\ud800-\udfff]")


class HoverflyReader:
    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        """A simulation ({"data": {"pairs": ...}}, or a v1 list) or a journal export."""
        try:
            if not path.is_file():
                return False
        except OSError:
            return False
        text = head(path)
        if not _OBJECT_START.match(text):
            return False
        if _JOURNAL.search(text):
            return bool(_DESTINATION.search(text))
        if not _DATA.search(text):
            return False
        if _PAIRS.search(text) or _SCHEMA.search(text):
            return True
        # v1 and older: "data" is the list of pairs (or of hoverctl delay settings)
        return bool(_DATA_LIST.search(text) and (_DESTINATION.search(text) or _DELAY.search(text)))

    def read(self, path: Path) -> Iterator[Item]:
        for item, _ in _entries(path):
            yield item


class HoverflyWriter:
    name: ClassVar[str] = NAME

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        """Write a v5 simulation file with exact matchers on method, scheme, destination, path,
        query and body; request headers are not matched (as Hoverfly captures by default).

        Repeats of one request are chained through "sequence:N" states, as Hoverfly's stateful
        capture does, so the responses replay in recorded order and the last one then repeats.
        """
        items = list(interactions)
        keys = [exact_key(i.request) for i in items]
        total: dict[str, int] = {}
        for key in keys:
            total[key] = total.get(key, 0) + 1
        sequences: dict[str, int] = {}
        seen: dict[str, int] = {}
        pairs = []
        for interaction, key in zip(items, keys, strict=True):
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            pair = _pair_view(interaction)
            if total[key] > 1:
                state = f"{_SEQUENCE}{sequences.setdefault(key, len(sequences) + 1)}"
                pair["request"]["requiresState"] = {state: str(occurrence + 1)}
                if occurrence + 1 < total[key]:
                    pair["response"]["transitionsState"] = {state: str(occurrence + 2)}
            pairs.append(pair)
        doc = {
            "data": {"pairs": pairs, "globalActions": {"delays": [], "delaysLogNormal": []}},
            "meta": {"schemaVersion": "v5"},
        }
        try:
            if path.is_dir():
                raise ConfigError(
                    f"{path} is a folder", hint="Hoverfly export writes one JSON file: name a file"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_json_text(doc), "utf-8")
        except OSError as e:
            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from e
        return len(items)


READER = HoverflyReader()
WRITER = HoverflyWriter()


def inexact(path: Path) -> list[str]:
    """Where `path` uses a matcher that is not exact, or leaves a field out, each as
    "file: where: what"; such requests import as the literal value or the default."""
    return [f"{path}: {note}" for _, notes in _entries(path) for note in notes]


# reading


def _entries(path: Path) -> Iterator[tuple[Item, list[str]]]:
    doc = _load(path)
    if not isinstance(doc, dict) or not ("journal" in doc or "data" in doc):
        # JSON that is neither is most likely a bodyFile (responses/), which forcing the format
        # on a folder's every file reaches
        yield Skipped("", 'not a Hoverfly simulation or journal (no "data" or "journal")'), []
        return
    if "journal" in doc:
        journal = doc["journal"] or []
        if not isinstance(journal, list):
            raise ImportFormatError(path, "journal", "expected a list")
        entries = [(f"journal[{i}]", e) for i, e in enumerate(journal)]
        times = [_time(e.get("timeStarted")) if isinstance(e, dict) else "" for _, e in entries]
        if all(times):
            # ISO 8601 UTC strings of one shape sort as the instants they name
            order = sorted(range(len(entries)), key=lambda i: times[i])
            entries, times = [entries[i] for i in order], [times[i] for i in order]
        if not entries:
            yield Skipped("journal", "the journal holds no entries"), []
        for (where, entry), when in zip(entries, times, strict=True):
            yield _pair(path, where, entry, recorded_at=when)
        return
    _check_version(path, doc.get("meta"))
    data = doc["data"]
    if isinstance(data, list):
        pairs, prefix = data, "data"
    elif isinstance(data, dict):
        pairs, prefix = data.get("pairs") or [], "data.pairs"
        if not isinstance(pairs, list):
            raise ImportFormatError(path, prefix, "expected a list")
    else:
        raise ImportFormatError(path, "data", "expected an object or a list")
    if not pairs:
        yield Skipped(prefix, "the simulation holds no pairs"), []
    for i in _sequence_order(pairs):
        yield _pair(path, f"{prefix}[{i}]", pairs[i])


def _load(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as e:
        raise ImportFormatError(path, "", f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ImportFormatError(path, "", f"not UTF-8 text: {e}") from e
    except ValueError as e:  # JSONDecodeError, or an integer too long to convert
        raise ImportFormatError(path, "", f"not valid JSON: {e}") from e
    except RecursionError as e:
        raise ImportFormatError(path, "", "JSON nested too deeply") from e


def _check_version(path: Path, meta: Any) -> None:
    version = meta.get("schemaVersion") if isinstance(meta, dict) else None
    if not isinstance(version, str):
        return
    found = _VERSION.match(version.strip())
    if found and int(found.group(1)) > NEWEST_SCHEMA:
        raise ImportFormatError(
            path,
            "meta.schemaVersion",
            f"written by a newer Hoverfly schema ({version}; virt reads v1 to v{NEWEST_SCHEMA})",
            hint=f"export the simulation as schema v{NEWEST_SCHEMA}, or upgrade virt",
        )


def _sequence_order(pairs: list[Any]) -> list[int]:
    """Pair indexes with each "sequence:N" chain (Hoverfly's stateful capture) in state order,
    in the places its pairs take."""
    order = list(range(len(pairs)))
    chains: dict[str, list[tuple[int, int]]] = {}
    for i, pair in enumerate(pairs):
        request = pair.get("request") if isinstance(pair, dict) else None
        states = request.get("requiresState") if isinstance(request, dict) else None
        if not isinstance(states, dict):
            continue
        for key, value in states.items():
            if isinstance(key, str) and key.startswith(_SEQUENCE) and _is_count(value):
                chains.setdefault(key, []).append((i, int(value)))
                break
    for members in chains.values():
        places = [i for i, _ in members]
        for place, (i, _) in zip(places, sorted(members, key=lambda m: m[1]), strict=True):
            order[place] = i
    return order


def _pair(path: Path, where: str, pair: Any, recorded_at: str = "") -> tuple[Item, list[str]]:
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
    request = _request(path, at, rq, loose)
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


def _request(path: Path, at: str, rq: dict[str, Any], loose: list[str]) -> Request:
    template = rq.get("requestType") == "template" or at.endswith("requestTemplate")

    def text(field: str, default: str) -> str:
        picked = _pick(rq.get(field), template=template)
        if picked is None:
            loose.append(f"{at}.{field}: left out (any value): imported as {default!r}")
            return default
        kind, value = picked
        if not isinstance(value, str):
            loose.append(f"{at}.{field}: {kind} matcher without a text value: {default!r}")
            return default
        if kind != "exact":
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
    host, port = _destination(path, f"{at}.destination", text("destination", HOST), scheme)
    raw_path = text("path", "/")
    if not raw_path.startswith("/"):
        raw_path = "/" + raw_path
    query = _query(path, at, rq, loose, template)
    body = _request_body(path, f"{at}.body", _pick(rq.get("body"), template=template), loose)
    headers = _headers(path, f"{at}.headers", rq.get("headers"), loose)
    return Request(
        method=method,
        scheme=scheme,
        host=host,
        port=port,
        path=quote(raw_path, safe=_PATH_SAFE, errors="surrogatepass"),
        query=query,
        headers=headers,
        body=body,
    )


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
    if not _is_count(port) or not 0 < int(port) < 65536:
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
            return Skipped(where, f"body file {name!r} is outside {base}: not read")
        if not candidate.is_file():
            return Skipped(where, f"body file {name!r} not found in {base}")
        return candidate.read_bytes()
    except (OSError, ValueError) as e:  # ValueError: a NUL in the name
        raise ImportFormatError(path, where, f"cannot read {candidate}: {e}") from e


def _time(value: Any) -> str:
    """A journal timestamp as ISO 8601 UTC with milliseconds, or "" when it is not one."""
    if not isinstance(value, str):
        return ""
    # Go writes up to nine fractional digits; Python reads six
    text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip()).replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    except (ValueError, OverflowError):
        return ""


def _is_count(value: Any) -> bool:
    return isinstance(value, str) and value.isascii() and value.isdigit()


def _quoted(text: str) -> str:
    return quote(text, safe="", errors="surrogatepass")


# writing


def _pair_view(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    rq: dict[str, Any] = {
        "path": [_exact(_hoverfly_path(request.path))],
        "method": [_exact(request.method.upper())],
        "destination": [_exact(_destination_text(request))],
        "scheme": [_exact(request.scheme)],
        "body": [_exact(request.body.decode("utf-8", "surrogateescape"))],
    }
    grouped: dict[str, list[str]] = {}
    for name, value in parse_qsl(request.query, keep_blank_values=True):
        grouped.setdefault(name, []).append(value)
    if grouped:
        rq["query"] = {name: [_exact(";".join(values))] for name, values in grouped.items()}
    rs: dict[str, Any] = {"status": response.status}
    # Hoverfly sends a body as it is: a body under a Content-Encoding goes as the wire bytes
    wire, text = response.body, None
    if response.encoding:
        wire = response.wire_body or encoding.encode(response.body, response.encoding)
    elif not encoding.normalize_coding(header(response.headers, "content-encoding")):
        with contextlib.suppress(UnicodeDecodeError):
            text = wire.decode("utf-8")
    if text is None:
        rs["body"], rs["encodedBody"] = base64.b64encode(wire).decode("ascii"), True
    else:
        rs["body"], rs["encodedBody"] = text, False
    headers: dict[str, list[str]] = {}
    for name, value in response.headers:
        headers.setdefault(name, []).append(value)
    if headers:
        rs["headers"] = headers
    rs["templated"] = False
    return {"request": rq, "response": rs}


def _json_text(doc: Any) -> str:
    """JSON, readable as UTF-8, with a lone surrogate (a request body byte that is not UTF-8)
    written as its escape, which is still valid JSON."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _exact(value: str) -> dict[str, str]:
    return {"matcher": "exact", "value": value}


def _hoverfly_path(path: str) -> str:
    """The path decoded, as Hoverfly compares it, when decoding loses nothing on import."""
    decoded = unquote(path)
    if "%" not in decoded and quote(decoded, safe=_PATH_SAFE) == path:
        return decoded
    return path


def _destination_text(request: Request) -> str:
    host = f"[{request.host}]" if ":" in request.host else request.host
    if DEFAULT_PORTS.get(request.scheme) == request.port:
        return host
    return f"{host}:{request.port}"
