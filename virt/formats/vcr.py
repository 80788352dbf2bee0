"""VCR.py cassettes, YAML and JSON, in every dialect seen in the wild; export as VCR.py 1.x YAML.

Dialects read (each corpus folder under vcr/ has at least one):

- 1.x: {interactions: [{request: {method, uri, body, headers}, response: {status: {code,
  message}, headers, body: {string}}}], version: 1}, with or without `version`;
- pre-1.0: a bare list of interactions whose requests carry protocol/host/port/path and whose
  response headers are "Name: value\\r\\n" lines (migrated to 1.x first, see _MIGRATIONS);
- headers as a dict of lists, a dict of plain strings (okta), or a list of (name, [values])
  tuples (tornado);
- body.string as text or as !!binary: both are the bytes the client read off the wire, so a
  gzip response is gzip bytes (tweepy) and decodes here; a text body whose headers still name a
  coding it is not in was kept decoded by its recorder (httpx's old `content`) and is re-encoded
  at replay instead;
- a request body that is a dict (aiohttp's json= or data=), and pydantic-ai's parsed_body, a
  YAML-native JSON value standing for the body: both are serialised back to the bytes the
  client most likely sent (see _payload_bytes);
- extra fields such as recorded_at (praw) are read where virt has a place for them.

YAML is read with CassetteLoader, a safe loader that builds only plain data: arbitrary Python
objects named in a cassette are refused, never constructed.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

import yaml

from virt import encoding
from virt.encoding import BodyTooLarge
from virt.formats import yamlsafe
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    head,
    headers_from,
    make_interaction,
    request_from_url,
    response_from,
    with_body,
)
from virt.formats.yamlsafe import CassetteLoader
from virt.model import DEFAULT_PORTS, Headers, Interaction, Request, Response, header

__all__ = [
    "READER",
    "WRITER",
    "CassetteLoader",
    "VcrReader",
    "VcrWriter",
    "body_bytes",
    "headers_of",
    "iso_time",
    "load_document",
    "reason_of",
    "request_of",
    "response_of",
    "status_of",
    "text_bytes",
]

# --- loading ----------------------------------------------------------------------------------


def load_document(path: Path) -> Any:
    """The parsed JSON or YAML of `path` (JSON when it starts with { or [), read safely."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
    stripped = data.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped[:1] in (b"{", b"["):
        try:
            return json.loads(data)
        except ValueError as e:
            json_error = e
        except RecursionError as e:
            raise ImportFormatError(path, "", "JSON nested too deeply") from e
        try:  # YAML's flow style is a superset of JSON: a hand-edited file may still read
            return yamlsafe.load(data, path, CassetteLoader)
        except ImportFormatError as e:
            if e.why.startswith("not valid YAML"):
                raise ImportFormatError(path, "", f"not valid JSON: {json_error}") from json_error
            raise
    return yamlsafe.load(data, path, CassetteLoader)


# --- pieces shared with betamax.py (Betamax and Ruby VCR keep the same request/response shapes)


def iso_time(value: Any) -> str:
    """A recorded time as ISO 8601 UTC with milliseconds, or "" when it cannot be read.

    Accepts ISO 8601 (naive times are UTC, as VCR.py, praw and Betamax write them) and RFC 2822
    dates ("Tue, 01 Jan 2019 00:00:00 GMT", as Ruby VCR writes them).
    """
    if not isinstance(value, str) or not value.strip():
        return ""
    text = value.strip()
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return ""
    try:
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        return when.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    except (ValueError, OverflowError):
        return ""


def text_bytes(text: str, charset: Any = None) -> bytes:
    """`text` as bytes in `charset` (a recorder's name for it), UTF-8 when that is unknown."""
    if isinstance(charset, str) and charset.strip():
        try:
            codec = codecs.lookup(charset.strip())
        except LookupError:
            codec = None  # Ruby's ASCII-8BIT, BINARY, ...: the text was written as UTF-8
        if codec is not None:
            try:
                return text.encode(codec.name)
            except (UnicodeError, ValueError, LookupError):
                pass  # not a text encoding (rot13, hex), or the text does not fit in it
    return text.encode("utf-8", "surrogatepass")


def body_bytes(value: Any, where: str, path: Path) -> bytes | None:
    """The bytes of a body kept as text, bytes, nothing, or a {string | base64_string,
    encoding} dict; None for anything else (a payload the caller serialises itself).

    Betamax and Ruby VCR may keep both keys; base64_string, holding the exact bytes, wins
    unless it is empty and the string is not (as Betamax itself reads them).
    """
    if value is None:
        return b""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return text_bytes(value)
    if isinstance(value, dict) and _is_body_dict(value):
        b64 = value.get("base64_string")
        string = value.get("string")
        if b64 not in (None, "") or (b64 == "" and string in (None, "")):
            if isinstance(b64, bytes):
                return b64
            if not isinstance(b64, str):
                raise ImportFormatError(path, f"{where}.base64_string", "expected a string")
            try:
                return base64.b64decode("".join(b64.split()), validate=True)
            except (binascii.Error, ValueError) as e:
                raise ImportFormatError(
                    path, f"{where}.base64_string", f"not valid base64: {e}"
                ) from e
        if string is None or isinstance(string, bytes):
            return string or b""
        if isinstance(string, str):
            return text_bytes(string, value.get("encoding"))
        raise ImportFormatError(path, f"{where}.string", "expected text or binary")
    return None


def _is_body_dict(value: dict[Any, Any]) -> bool:
    keys = set(value)
    return bool(keys) and keys <= {"string", "base64_string", "encoding"} and keys != {"encoding"}


def headers_of(value: Any, where: str, path: Path) -> Headers:
    """Headers from a dict (of lists or plain values), a list of (name, values) pairs, or the
    "Name: value\\r\\n" lines of pre-1.0 VCR.py responses; values of !!binary kept byte exact."""
    if value is None:
        return ()
    if isinstance(value, dict):
        if any(isinstance(v, dict) for v in value.values()):
            raise ImportFormatError(path, where, "header values must be text or lists of text")
        return headers_from(value)
    if not isinstance(value, list):
        raise ImportFormatError(path, where, "expected a mapping or a list of headers")
    out: list[tuple[str, str]] = []
    for i, item in enumerate(value):
        if isinstance(item, str | bytes):
            line = item.decode("latin-1") if isinstance(item, bytes) else item
            line = line.rstrip("\r\n")
            if line[:1] in (" ", "\t") and out:  # an obsolete folded continuation line
                name, previous = out[-1]
                out[-1] = (name, f"{previous} {line.strip()}")
                continue
            name, sep, rest = line.partition(":")
            if not sep or not name.strip():
                raise ImportFormatError(path, f"{where}[{i}]", f"not a header line: {line!r}")
            out.append((name.strip(), rest.strip()))
        elif isinstance(item, list) and len(item) == 2 and not isinstance(item[1], dict):
            out.extend(headers_from([item]))
        else:
            raise ImportFormatError(path, f"{where}[{i}]", "expected a (name, value) pair")
    return tuple(out)


def status_of(value: Any, where: str, path: Path) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ImportFormatError(path, where, f"expected an HTTP status code, got {value!r}")
    try:
        status = int(str(value).strip().split()[0]) if isinstance(value, str) else value
    except (ValueError, IndexError) as e:
        raise ImportFormatError(path, where, f"not an HTTP status code: {value!r}") from e
    if not 100 <= status <= 599:
        raise ImportFormatError(path, where, f"HTTP status {status} is out of range 100-599")
    return status


def reason_of(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def request_of(
    method: Any, uri: Any, headers: Headers, body: bytes, where: str, path: Path
) -> Request:
    """A Request from a cassette's method and absolute URI; `body` as it was on the wire."""
    if isinstance(method, bytes):
        method = method.decode("latin-1")
    if not isinstance(method, str) or not method.strip(":").strip():
        raise ImportFormatError(path, f"{where}.method", f"expected an HTTP method, got {method!r}")
    if not isinstance(uri, str) or not uri:
        raise ImportFormatError(path, f"{where}.uri", f"expected an absolute URL, got {uri!r}")
    try:
        request = request_from_url(method.strip(":").strip(), uri, headers)
    except ValueError as e:
        raise ImportFormatError(path, f"{where}.uri", str(e)) from e
    return with_body(request, body, encoded=True)


def response_of(
    status: int, reason: str, headers: Headers, body: bytes, *, http_version: str = "HTTP/1.1"
) -> Response:
    """A Response from a body kept as the wire bytes (VCR.py, Betamax and Ruby VCR all do).

    A body that does not decode in the coding its headers name, yet is text, was kept decoded
    by its recorder (httpx's old VCR.py stub, Faraday): it is taken as decoded, so replay
    encodes it as the headers promise. A corrupt gzip body is not text and stays as it came.
    """
    response = response_from(
        status, headers, body, encoded=True, reason=reason, http_version=http_version
    )
    coding = encoding.normalize_coding(header(headers, "content-encoding"))
    if response.encoding is None and body and coding in encoding.SUPPORTED and _is_utf8(body):
        return response_from(
            status, headers, body, encoded=False, reason=reason, http_version=http_version
        )
    return response


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# --- serialising bodies kept as data ----------------------------------------------------------

_JSON_STYLES: tuple[dict[str, Any], ...] = (
    {"separators": (",", ":"), "ensure_ascii": False},  # httpx >= 0.28, orjson-style
    {"separators": (", ", ": "), "ensure_ascii": True},  # json.dumps: requests, aiohttp, httpx<0.28
    {"separators": (", ", ": "), "ensure_ascii": False},
    {"separators": (",", ":"), "ensure_ascii": True},
    {"indent": 2, "ensure_ascii": False},  # pretty-printed API responses
    {"indent": 2, "ensure_ascii": True},
)


def _payload_bytes(value: Any, headers: Headers, where: str, path: Path) -> bytes:
    """The bytes a body kept as data (a dict, a list, a JSON value) most likely was on the wire.

    Form when the headers say so, or for a flat mapping of text without a Content-Type
    (aiohttp's data=, recorded before aiohttp adds the header). JSON otherwise, in the spelling
    (separators, indentation, a final newline) whose length is the recorded Content-Length;
    without one, json.dumps' default for aiohttp (which sends that) and the compact spelling
    for anyone else. Key order is the cassette's: a recorder that sorted keys (pydantic-ai)
    lost the original order for good.
    """
    content_type = (header(headers, "content-type") or "").lower()
    form = "x-www-form-urlencoded" in content_type or (not content_type and _flat_form(value))
    if form and isinstance(value, dict):
        try:
            return urlencode(value, doseq=True).encode("ascii")
        except (TypeError, ValueError) as e:
            raise ImportFormatError(path, where, f"cannot form-encode the body: {e}") from e
    styles = _JSON_STYLES
    length = _content_length(headers)
    user_agent = (header(headers, "user-agent") or "").lower()
    if length is None and "aiohttp" in user_agent:
        styles = (_JSON_STYLES[1],)
    try:
        spellings = [
            json.dumps(value, **style).encode("utf-8", "surrogatepass") for style in styles
        ]
    except (TypeError, ValueError, RecursionError) as e:
        raise ImportFormatError(path, where, f"the body is not a JSON value: {e}") from e
    for spelled in (*spellings, *(s + b"\n" for s in spellings)):  # some servers end with \n
        if len(spelled) == length:
            return spelled
    return spellings[0]


def _flat_form(value: Any) -> bool:
    return (
        isinstance(value, dict)
        and bool(value)
        and all(
            isinstance(k, str) and (isinstance(v, str) or _str_list(v)) for k, v in value.items()
        )
    )


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _content_length(headers: Headers) -> int | None:
    if encoding.normalize_coding(header(headers, "content-encoding")) is not None:
        return None  # the length of the encoded bytes says nothing about the JSON spelling
    value = header(headers, "content-length")
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


# --- the reader -------------------------------------------------------------------------------


def _from_pre_1(data: list[Any], path: Path) -> dict[str, Any]:
    """A pre-1.0 cassette (a bare list) as 1.x: protocol/host/port/path become the uri; the
    header lines stay a list, which keeps their order and repeats."""
    interactions = []
    for i, entry in enumerate(data):
        where = f"[{i}].request"
        request = entry.get("request") if isinstance(entry, dict) else None
        if not isinstance(request, dict):
            raise ImportFormatError(path, f"[{i}]", "expected a mapping with request and response")
        if "uri" not in request:
            scheme = request.get("protocol")
            host = request.get("host")
            port = request.get("port")
            target = request.get("path", "/")
            if not isinstance(scheme, str) or not isinstance(host, str) or not host:
                raise ImportFormatError(path, where, "expected protocol and host")
            if not isinstance(target, str):
                raise ImportFormatError(path, f"{where}.path", "expected a path")
            if port in (None, DEFAULT_PORTS.get(scheme.lower())):
                authority = host
            elif isinstance(port, int) and not isinstance(port, bool):
                authority = f"{host}:{port}"
            else:
                raise ImportFormatError(path, f"{where}.port", f"not a port: {port!r}")
            request = {**request, "uri": f"{scheme}://{authority}{target}"}
        interactions.append({**entry, "request": request})
    return {"interactions": interactions, "version": 1}


_MIGRATIONS: dict[int, Callable[[Any, Path], dict[str, Any]]] = {0: _from_pre_1}
"""Converters from an old cassette version to the next, applied in order up to _VERSION."""
_VERSION = 1


def _cassette(data: Any, path: Path) -> dict[str, Any]:
    """`data` migrated to a 1.x cassette; refuses by name a version newer than virt knows."""
    if isinstance(data, list):
        version = 0
    elif isinstance(data, dict) and isinstance(data.get("interactions"), list):
        version = data.get("version", _VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ImportFormatError(path, "version", f"not a VCR.py cassette version: {version!r}")
        if version > _VERSION:
            raise ImportFormatError(
                path,
                "version",
                f"VCR.py cassette version {version} is newer than virt reads (up to {_VERSION})",
                hint="upgrade virt, or re-record the cassette with a VCR.py that writes version 1",
            )
    else:
        raise ImportFormatError(
            path, "", "not a VCR.py cassette: expected a mapping with an interactions list"
        )
    while version < _VERSION:
        data = _MIGRATIONS[version](data, path)
        version += 1
    assert isinstance(data, dict)
    return data


class VcrReader:
    """Reads VCR.py cassettes (.yaml, .yml, .json)."""

    name: ClassVar[str] = "vcr"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            return False
        text = head(path)
        if re.search(rb"^\s*(\"http_interactions\"|http_interactions\s*:)", text, re.M):
            return False  # Betamax and Ruby VCR
        version = re.search(rb"^[ \t]{0,4}\"?version\"?\s*:\s*(\d+)", text, re.M)
        if version is not None and int(version.group(1)) != _VERSION:
            return False  # go-vcr writes version 2; VCR.py has only ever written 1
        has_uri = re.search(rb"^\s*\"?(uri|protocol)\"?\s*:", text, re.M) is not None
        if re.search(rb"^\s*\"?interactions\"?\s*:", text, re.M):
            # go-vcr cassettes say `url:` and `form:` where VCR.py says `uri:`
            return has_uri or not re.search(rb"^\s+\"?(url|form|duration)\"?\s*:", text, re.M)
        stripped = text.lstrip(b"\xef\xbb\xbf \t\r\n")
        pre_1 = stripped.startswith((b"- request:", b"[")) and b"request" in text
        return pre_1 and has_uri

    def read(self, path: Path) -> Iterator[Item]:
        document = load_document(path)
        prefix = "" if isinstance(document, list) else "interactions"  # names entries as the file
        cassette = _cassette(document, path)
        default_time = iso_time(cassette.get("recorded_at"))
        if not cassette["interactions"]:
            yield Skipped(prefix or "[]", "the cassette records no interactions")
        for i, entry in enumerate(cassette["interactions"]):
            where = f"{prefix}[{i}]"
            try:
                yield self._entry(entry, where, path, default_time)
            except ImportFormatError:
                raise
            except BodyTooLarge as e:  # a decompression bomb: never stored, nor kept encoded
                raise ImportFormatError(path, where, f"{e}; refusing a possible bomb") from e
            except (TypeError, ValueError, KeyError, AttributeError, LookupError) as e:
                raise ImportFormatError(path, where, f"unexpected shape: {e}") from e

    def _entry(self, entry: Any, where: str, path: Path, default_time: str) -> Item:
        if not isinstance(entry, dict):
            raise ImportFormatError(path, where, "expected a mapping with request and response")
        raw_request = entry.get("request")
        raw_response = entry.get("response")
        if not isinstance(raw_request, dict):
            raise ImportFormatError(path, f"{where}.request", "expected a mapping")
        if raw_response is None:
            return Skipped(where, "no response was recorded")
        if not isinstance(raw_response, dict):
            raise ImportFormatError(path, f"{where}.response", "expected a mapping")
        request = self._request(raw_request, f"{where}.request", path)
        response = self._response(raw_response, f"{where}.response", path)
        recorded_at = iso_time(entry.get("recorded_at")) or default_time
        return make_interaction(
            request, response, source=path, source_format=self.name, recorded_at=recorded_at
        )

    def _request(self, raw: dict[Any, Any], where: str, path: Path) -> Request:
        headers = headers_of(raw.get("headers"), f"{where}.headers", path)
        if raw.get("parsed_body") is not None:
            body = _payload_bytes(raw["parsed_body"], headers, f"{where}.parsed_body", path)
        else:
            found = body_bytes(raw.get("body"), f"{where}.body", path)
            if found is None:
                found = _payload_bytes(raw.get("body"), headers, f"{where}.body", path)
            body = found
        return request_of(raw.get("method"), raw.get("uri"), headers, body, where, path)

    def _response(self, raw: dict[Any, Any], where: str, path: Path) -> Response:
        headers = headers_of(raw.get("headers"), f"{where}.headers", path)
        status_field = raw.get("status")
        if isinstance(status_field, dict):
            status = status_of(status_field.get("code"), f"{where}.status.code", path)
            message = status_field.get("message")
            reason = message if isinstance(message, str) else reason_of(status)
        elif "status_code" in raw:  # httpx's stub in VCR.py < 4.2
            status = status_of(raw["status_code"], f"{where}.status_code", path)
            reason = reason_of(status)
        else:
            status = status_of(status_field, f"{where}.status", path)
            reason = reason_of(status)
        version = raw.get("http_version")
        http_version = version if isinstance(version, str) and version else "HTTP/1.1"
        if raw.get("parsed_body") is not None:
            body = _payload_bytes(raw["parsed_body"], headers, f"{where}.parsed_body", path)
            return response_from(
                status, headers, body, encoded=False, reason=reason, http_version=http_version
            )
        if "content" in raw and "body" not in raw:  # httpx's old stub kept the decoded content
            content = body_bytes(raw["content"], f"{where}.content", path)
            if content is None:
                raise ImportFormatError(path, f"{where}.content", "expected text or binary")
            return response_from(
                status, headers, content, encoded=False, reason=reason, http_version=http_version
            )
        kept = body_bytes(raw.get("body"), f"{where}.body", path)
        if kept is None:
            raise ImportFormatError(path, f"{where}.body", "expected {string: ...}, text or binary")
        return response_of(status, reason, headers, kept, http_version=http_version)


# --- the writer -------------------------------------------------------------------------------

_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _grouped(headers: Headers) -> dict[str, list[str]]:
    """VCR.py's header shape: names in first-seen order, each with its values in order.

    Repeats of one name that other fields interleave come back grouped: VCR.py cannot say more.
    """
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _cassette_entry(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    request_body = request.body
    if request.encoding is not None and request_body:
        request_body = encoding.encode(request_body, request.encoding)
    if response.encoding is not None:
        wire = response.wire_body
        if wire is None:
            wire = encoding.encode(response.body, response.encoding) if response.body else b""
        response_body: str | bytes = wire
    else:
        response_body = _text_or_bytes(response.body)
    entry: dict[str, Any] = {
        "request": {
            "body": _text_or_bytes(request_body) if request_body else None,
            "headers": _grouped(request.headers),
            "method": request.method,
            "uri": request.url,
        },
        "response": {
            "body": {"string": response_body},
            "headers": _grouped(response.headers),
            "status": {"code": response.status, "message": response.reason},
        },
    }
    if interaction.recorded_at:
        entry["recorded_at"] = interaction.recorded_at  # as praw's cassettes; VCR.py ignores it
    return entry


def _dump(value: Any) -> str:
    return str(yaml.dump(value, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True, width=100))


class VcrWriter:
    """Writes one VCR.py 1.x YAML cassette, interaction by interaction.

    Per interaction: the request (body null when empty, text when UTF-8, else !!binary), the
    response body as text when it is UTF-8 and was not content-encoded, else !!binary of the
    bytes as sent (gzip stays gzip, as VCR.py records it), headers as a dict of lists in
    first-seen order, and recorded_at. Not kept: the HTTP version and the order of a header's
    repeats relative to other fields, which VCR.py's format has no place for.
    """

    name: ClassVar[str] = "vcr"

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        count = 0
        with path.open("w", encoding="utf-8", newline="\n") as f:
            for interaction in interactions:
                if count == 0:
                    f.write("interactions:\n")
                f.write(_dump([_cassette_entry(interaction)]))
                count += 1
            f.write("interactions: []\n" if count == 0 else "")
            f.write(f"version: {_VERSION}\n")
        return count


READER = VcrReader()
WRITER = VcrWriter()
