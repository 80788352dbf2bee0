"""Keploy test sets: HTTP test cases (tests/*.yaml) and mocks (mocks.yaml), multi-document YAML.

Keploy records two sides of an application: inbound test cases (the app's own API) and outbound
mocks of its dependencies. Both are `kind: Http` documents with `spec.req` and `spec.resp`; every
other kind (Mongo, Postgres, Redis, MySQL, gRPC, Generic, ...) is a wire-protocol mock virt cannot
replay and is yielded as Skipped, as are the test-to-mock mappings (`kind: TestMocksMapping`).

What the reader decides where Keploy leaves it open:

- Mocks of HTTP clients store the request target only (`url: /api/v2/pokemon/1`). Such a URL is
  completed with the request's Host header when it has one, else with `localhost`, over http.
- Bodies are text and already decoded, even when a Content-Encoding header is kept; a body that
  is bytes (`!!binary`, or `body_base64` in newer Keploy) counts as wire bytes when it decodes in
  the coding its headers name.
- A streamed response (`body` as a list of `{ts, data}` chunks) is joined back into one body: for
  text/event-stream each chunk is an event of `field:value` lines ending in a blank line (Keploy
  writes SSE without the optional space after the colon); for other streams the chunks' `raw`
  values are joined with newlines, as Keploy itself rebuilds them.
- recorded_at is the request's timestamp, or the mock's reqTimestampMock when Keploy left the
  request's at the zero time.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlsplit

from virt import encoding
from virt.formats import yamlsafe
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    describe,
    expect,
    head,
    in_coding,
    make_interaction,
    request_from_url,
    response_from,
    with_body,
)
from virt.formats.yamlsafe import TextTimestampLoader
from virt.model import Headers, header

_SIGNATURE = re.compile(rb"^version:[ \t]*['\"]?api\.keploy\.io/", re.MULTILINE)
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d\d)-(\d\d)[Tt ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?\s*(Z|z|[+-]\d\d:?\d\d)?\Z"
)


class KeployReader:
    name: ClassVar[str] = "keploy"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".yaml", ".yml"):
            return False
        return _SIGNATURE.search(head(path)) is not None

    def read(self, path: Path) -> Iterator[Item]:
        try:
            f = path.open("rb")
        except OSError as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
        with f:
            documents = yamlsafe.load_all(f, path, TextTimestampLoader)
            index = 0
            while True:
                where = f"document {index}"
                try:
                    doc = next(documents)
                except StopIteration:
                    break
                except ImportFormatError as e:  # name the document as well as the line
                    at = f"{where}, {e.where}" if e.where else where
                    raise ImportFormatError(path, at, e.why, e.hint) from None
                if doc is not None:
                    yield from _document(doc, where, path)
                index += 1
            if index == 0:
                yield Skipped("", "the file holds no Keploy documents")


READER = KeployReader()


def _document(doc: Any, where: str, path: Path) -> Iterator[Item]:
    doc = expect(doc, dict, path, where, "a mapping with version, kind and spec")
    name = doc.get("name")
    if isinstance(name, str) and name:
        where = f"{where} ({name})"
    kind = expect(
        doc.get("kind"), str, path, where, "a Keploy document with a kind (Http)", nonempty=True
    )
    if kind == "TestMocksMapping":
        yield Skipped(where, "a test-to-mock mapping (TestMocksMapping), not an interaction")
        return
    if kind.lower() != "http":
        yield Skipped(where, f"not HTTP ({kind})")
        return
    spec = expect(doc.get("spec"), dict, path, f"{where}.spec", "a mapping with req and resp")
    req = expect(spec.get("req"), dict, path, f"{where}.spec.req", "a mapping")
    resp = expect(spec.get("resp"), dict, path, f"{where}.spec.resp", "a mapping")
    if resp.get("body_skipped") is True:
        yield Skipped(where, "Keploy did not save the response body (body_skipped)")
        return

    request_headers = _headers(req.get("header"), path, f"{where}.spec.req.header")
    method = expect(
        req.get("method"),
        str,
        path,
        f"{where}.spec.req.method",
        "the request method",
        nonempty=True,
    )
    url = expect(
        req.get("url"), str, path, f"{where}.spec.req.url", "the request URL", nonempty=True
    )
    request_body, from_wire = _request_body(req, path, f"{where}.spec.req")
    if request_body is None:
        ref = req["body_ref"]["path"]
        yield Skipped(where, f"the request body was offloaded to {ref}, which is missing")
        return
    try:
        request = request_from_url(method, _absolute(url, request_headers), request_headers)
    except ValueError as e:
        raise ImportFormatError(path, f"{where}.spec.req.url", str(e)) from e
    request = replace(request, http_version=_http_version(req) or "HTTP/1.1")
    if from_wire and in_coding(request_body, request_headers):
        request = with_body(request, request_body, encoded=True)
    else:  # decoded text, like the response bodies: the header's coding is re-applied on export
        coding = encoding.normalize_coding(header(request_headers, "content-encoding"))
        supported = request_body and coding in encoding.SUPPORTED
        request = replace(request, body=request_body, encoding=coding if supported else None)

    status = expect(
        resp.get("status_code"), int, path, f"{where}.spec.resp.status_code", "an HTTP status"
    )
    if not 0 <= status <= 999:
        raise ImportFormatError(
            path, f"{where}.spec.resp.status_code", f"{status} is not an HTTP status"
        )
    if status == 0:
        yield Skipped(where, "no response recorded (status_code 0)")
        return
    response_headers = _headers(resp.get("header"), path, f"{where}.spec.resp.header")
    body, encoded = _response_body(resp, response_headers, path, f"{where}.spec.resp")
    reason = resp.get("status_message")
    response = response_from(
        status,
        response_headers,
        body,
        encoded=encoded,
        reason=reason if isinstance(reason, str) else "",
        http_version=_http_version(resp) or request.http_version,
    )
    recorded_at = _iso_utc(req.get("timestamp")) or _iso_utc(spec.get("reqTimestampMock"))
    yield make_interaction(
        request, response, source=path, source_format="keploy", recorded_at=recorded_at
    )


def _headers(value: Any, path: Path, where: str) -> Headers:
    """Keploy's map[string]string of header fields, in the order the file lists them."""
    if value is None:
        return ()
    value = expect(value, dict, path, where, "a mapping of header names to values")
    out: list[tuple[str, str]] = []
    for name, v in value.items():
        for one in v if isinstance(v, list) else [v]:
            out.append((_scalar(name), _scalar(one)))
    return tuple(out)


def _scalar(value: Any) -> str:
    """A YAML scalar as the string Go wrote (yaml.v3 quotes strings that look like others)."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, default=str)


def _absolute(url: str, headers: Headers) -> str:
    """`url`, completed with the Host header (or localhost) over http when it has no host."""
    parts = urlsplit(url)
    if parts.scheme and parts.netloc:
        return url
    if url.startswith("//"):
        return "http:" + url
    host = (header(headers, "host") or "").strip() or "localhost"
    return f"http://{host}{url if url.startswith('/') else '/' + url}"


def _text_or_bytes(value: Any, path: Path, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):  # !!binary: yaml.v3 writes strings that are not UTF-8 this way
        return value
    raise ImportFormatError(path, where, f"expected the body as text, got {describe(value)}")


def _base64(value: Any, path: Path, where: str) -> bytes:
    value = expect(value, str, path, where, "base64 text")
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError) as e:
        raise ImportFormatError(path, where, f"not valid base64: {e}") from e


def _request_body(req: dict[str, Any], path: Path, where: str) -> tuple[bytes | None, bool]:
    """(body, whether it is bytes rather than text); None when Keploy offloaded the body to an
    asset file that is not there."""
    if req.get("body_base64"):
        return _base64(req["body_base64"], path, f"{where}.body_base64"), True
    value = req.get("body")
    body = _text_or_bytes(value, path, f"{where}.body")
    ref = req.get("body_ref")
    if body or not isinstance(ref, dict) or not ref.get("path"):
        return body, isinstance(value, bytes)
    relative = expect(ref["path"], str, path, f"{where}.body_ref.path", "a relative path")
    # Keploy writes the path relative to the test set; the file sits in it or in tests/ below it.
    for base in (path.parent, path.parent.parent):
        candidate = base / relative
        if candidate.is_file():
            try:
                return candidate.read_bytes(), True
            except OSError as e:
                raise ImportFormatError(path, f"{where}.body_ref", f"cannot read {e}") from e
    return None, False


def _response_body(
    resp: dict[str, Any], headers: Headers, path: Path, where: str
) -> tuple[bytes, bool]:
    """(body, whether it is the wire bytes still in its Content-Encoding)."""
    if resp.get("body_base64"):
        body = _base64(resp["body_base64"], path, f"{where}.body_base64")
        return body, in_coding(body, headers)
    value = resp.get("body")
    if isinstance(value, list):
        return _stream(value, headers).encode("utf-8", "surrogateescape"), False
    body = _text_or_bytes(value, path, f"{where}.body")
    return body, isinstance(value, bytes) and in_coding(body, headers)


def _stream(chunks: list[Any], headers: Headers) -> str:
    """A streamed body from Keploy's chunks, as it went over the wire (see the module docstring)."""
    sse = "text/event-stream" in (header(headers, "content-type") or "").lower()
    frames: list[str] = []
    for chunk in chunks:
        if not isinstance(chunk, dict) or "data" not in chunk:
            continue
        data = chunk["data"]
        fields = list(data.items()) if isinstance(data, dict) else [("raw", data)]
        if not sse:
            values = dict((str(k).strip().lower(), v) for k, v in reversed(fields))
            raw = values["raw"] if "raw" in values else fields[0][1] if fields else ""
            frames.append(_scalar(raw))
            continue
        lines: list[str] = []
        for key, value in fields:
            name = str(key).strip().lower()
            text = _scalar(value).split("\n")
            if name == "comment":
                lines.extend(":" + line for line in text)
            elif name == "raw":
                lines.extend(text)
            elif name:
                lines.extend(f"{name}:{line}" for line in text)
        if lines:
            frames.append("\n".join(lines) + "\n\n")
    return "".join(frames) if sse else "\n".join(frames)


def _http_version(side: dict[str, Any]) -> str:
    major, minor = side.get("proto_major"), side.get("proto_minor")
    if not isinstance(major, int) or isinstance(major, bool) or not 1 <= major <= 3:
        return ""  # Keploy leaves 0 where it did not know
    if major >= 2:
        return f"HTTP/{major}.0"
    return f"HTTP/1.{minor if isinstance(minor, int) and minor in (0, 1) else 1}"


def _iso_utc(value: Any) -> str:
    """A Keploy timestamp as ISO 8601 UTC with milliseconds; "" for Go's zero time or none."""
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    elif isinstance(value, str) and (m := _TIMESTAMP.match(value.strip())):
        year, month, day, hour, minute, second, fraction, zone = m.groups()
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        offset = 0
        if zone and zone not in ("Z", "z"):
            digits = zone[1:].replace(":", "")
            offset = (int(digits[:2]) * 60 + int(digits[2:])) * (-1 if zone[0] == "-" else 1)
        try:
            naive = datetime(
                int(year), int(month), int(day), int(hour), int(minute), int(second), micro
            )
            moment = naive.replace(tzinfo=UTC) - timedelta(minutes=offset)
        except (ValueError, OverflowError):
            return ""
    else:
        return ""
    if moment.year <= 1:  # Go's zero time: Keploy had no timestamp
        return ""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
