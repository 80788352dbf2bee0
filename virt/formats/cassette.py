"""Cassette shapes VCR.py, Betamax and Ruby VCR share: loading, bodies, headers, status, times.

The three recorders descend from Ruby VCR and keep a request as {method, uri, body, headers}
and a response as {status: {code, message}, headers, body}: their readers (vcr/read.py,
betamax.py) build interactions from these pieces. YAML is read with yamlsafe.CassetteLoader, a
safe loader that builds only plain data: arbitrary Python objects named in a cassette are
refused, never constructed.
"""

from __future__ import annotations

import base64
import binascii
import codecs
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from pathlib import Path
from typing import Any

from virt import encoding
from virt.encoding import BodyTooLarge
from virt.formats import yamlsafe
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    expect,
    headers_from,
    request_from_url,
    response_from,
    with_body,
)
from virt.formats.yamlsafe import CassetteLoader
from virt.model import Headers, Request, Response, header

__all__ = [
    "body_bytes",
    "entries",
    "headers_of",
    "iso_time",
    "load_document",
    "reason_of",
    "request_of",
    "response_of",
    "sides",
    "status_line",
    "status_of",
    "text_bytes",
]


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


def entries(
    items: list[Any], key: str, path: Path, read: Callable[[Any, str], Item]
) -> Iterator[Item]:
    """`read(entry, where)` for each entry of the list under `key` ("" for a bare list), in
    order; anything but an ImportFormatError that escapes it becomes one naming the entry."""
    if not items:
        yield Skipped(key or "[]", "the cassette records no interactions")
    for i, entry in enumerate(items):
        where = f"{key}[{i}]"
        try:
            yield read(entry, where)
        except ImportFormatError:
            raise
        except BodyTooLarge as e:  # a decompression bomb: never stored, nor kept encoded
            raise ImportFormatError(path, where, f"{e}; refusing a possible bomb") from e
        except (TypeError, ValueError, KeyError, AttributeError, LookupError) as e:
            raise ImportFormatError(path, where, f"unexpected shape: {e}") from e


def sides(entry: Any, where: str, path: Path) -> tuple[dict[Any, Any], dict[Any, Any]] | Skipped:
    """An entry's raw request and response mappings, or Skipped when no response was recorded."""
    entry = expect(entry, dict, path, where, "a mapping with request and response")
    raw_request = expect(entry.get("request"), dict, path, f"{where}.request", "a mapping")
    if entry.get("response") is None:
        return Skipped(where, "no response was recorded")
    return raw_request, expect(entry["response"], dict, path, f"{where}.response", "a mapping")


def status_line(raw: dict[Any, Any], where: str, path: Path) -> tuple[int, str]:
    """A response's (status, reason) from {status: {code, message}}, a flat status_code (httpx's
    stub in VCR.py < 4.2, the oldest Betamax files) or a bare status; the reason is HTTP's
    phrase for the code when the cassette keeps none."""
    status_field = raw.get("status")
    if isinstance(status_field, dict):
        status = status_of(status_field.get("code"), f"{where}.status.code", path)
        message = status_field.get("message")
        return status, message if isinstance(message, str) else reason_of(status)
    if "status_code" in raw:
        status = status_of(raw["status_code"], f"{where}.status_code", path)
    else:
        status = status_of(status_field, f"{where}.status", path)
    return status, reason_of(status)


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
            b64 = expect(b64, str, path, f"{where}.base64_string", "base64 text")
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
