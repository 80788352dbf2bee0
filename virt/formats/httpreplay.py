"""Go httpreplay logs (cloud.google.com/go/httpreplay): JSON with base64 bodies, log version 0.2.

httpreplay records through an in-process MITM proxy, so bodies are the bytes on the wire:

- A request body is the concatenation of its BodyParts. For a multipart MediaType, httpreplay
  kept only each part's content (no part headers, no boundary: the client drew it at random,
  and the recorder's Converter usually removed Content-Type). The reader rebuilds a multipart
  body with a boundary derived from the parts' bytes (the same on every import) and parts
  without headers, and adds `Content-Type: <MediaType>; boundary=...`. When Content-Type was
  removed from a non-multipart request, `Content-Type: <MediaType>` is added back without
  parameters, so that body normalisers know what they read.
- A response Body is what the Go client read: with a Content-Encoding header, it is the encoded
  bytes when they decode in that coding (the client asked for the encoding itself) and already
  decoded otherwise.
- Trailers are not kept (virt's model has none), nor the entry IDs.
- `Initial` is whatever the test passed to the recorder; Google's and go-cloud's test helpers
  pass the start time as Go's time.MarshalBinary, and when it decodes as one it becomes every
  entry's recorded_at.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import re
import struct
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    expect,
    head,
    headers_from,
    in_coding,
    make_interaction,
    request_from_url,
    response_from,
    with_body,
)
from virt.model import Headers, header

LOG_VERSION = (0, 2)
"""The newest httpreplay log version read (httpreplay's proxy.LogVersion)."""

_OPENING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\{")
_KEYS = (
    re.compile(rb'"Entries"\s*:'),
    re.compile(rb'"Initial"\s*:'),
    re.compile(rb'"Version"\s*:'),
)
_VERSION = re.compile(r"(\d+)\.(\d+)\Z")
_PROTO = re.compile(r"HTTP/\d(?:\.\d)?\Z")
_GO_EPOCH = datetime(1, 1, 1, tzinfo=UTC)


class HttpReplayReader:
    name: ClassVar[str] = "httpreplay"

    def sniff(self, path: Path) -> bool:
        start = head(path)
        if _OPENING.match(start) is None:
            return False
        # Go writes the Log struct in field order, Initial, Version, Converter, Entries; a long
        # Converter can push Entries past the head, so two of the three names are enough.
        return sum(key.search(start) is not None for key in _KEYS) >= 2

    def read(self, path: Path) -> Iterator[Item]:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
        try:
            data = json.loads(raw)
        except (ValueError, RecursionError) as e:
            raise ImportFormatError(path, "", f"not valid JSON: {e}") from e
        if not isinstance(data, dict) or "Entries" not in data:
            raise ImportFormatError(path, "", "expected an httpreplay log: Version and Entries")
        _check_version(data.get("Version"), path)
        recorded_at = _initial_time(data.get("Initial"))
        entries = data["Entries"]
        if entries is None or entries == []:
            yield Skipped("Entries", "the log holds no entries")
            return
        entries = expect(entries, list, path, "Entries", "a list of entries")
        for index, entry in enumerate(entries):
            yield _entry(entry, f"Entries[{index}]", path, recorded_at)


READER = HttpReplayReader()


def _check_version(value: Any, path: Path) -> None:
    if value is None:
        return  # hand-made logs leave it out; the entries' shape is what matters
    m = _VERSION.match(value) if isinstance(value, str) else None
    if m is None:
        raise ImportFormatError(path, "Version", f"expected a log version like 0.2, not {value!r}")
    if (int(m.group(1)), int(m.group(2))) > LOG_VERSION:
        raise ImportFormatError(
            path,
            "Version",
            f"written by a newer httpreplay (log version {value}; "
            f"virt reads up to {LOG_VERSION[0]}.{LOG_VERSION[1]})",
            hint="upgrade virt",
        )


def _entry(value: Any, where: str, path: Path, recorded_at: str) -> Item:
    value = expect(value, dict, path, where, "an entry with Request and Response")
    req = expect(value.get("Request"), dict, path, f"{where}.Request", "an object")
    if value.get("Response") is None:
        return Skipped(where, "no response recorded")
    resp = expect(value["Response"], dict, path, f"{where}.Response", "an object")

    method = expect(
        req.get("Method"), str, path, f"{where}.Request.Method", "the request method", nonempty=True
    )
    url = expect(
        req.get("URL"), str, path, f"{where}.Request.URL", "the request URL", nonempty=True
    )
    request_headers = _headers(req.get("Header"), path, f"{where}.Request.Header")
    media_type = expect(
        req.get("MediaType") or "", str, path, f"{where}.Request.MediaType", "a media type"
    )
    parts = _parts(req, path, f"{where}.Request")
    if media_type.lower().startswith("multipart/"):
        body, content_type = _multipart(parts, media_type)
    else:
        body, content_type = b"".join(parts), media_type
    if content_type and header(request_headers, "content-type") is None:
        request_headers = (*request_headers, ("Content-Type", content_type))
    try:
        request = request_from_url(method, url, request_headers)
    except ValueError as e:
        raise ImportFormatError(path, f"{where}.Request.URL", str(e)) from e
    # the body as the proxy saw it: still in its Content-Encoding, when that is one virt knows
    request = with_body(request, body, encoded=True)

    status = expect(
        resp.get("StatusCode"), int, path, f"{where}.Response.StatusCode", "an HTTP status"
    )
    if status == 0:
        return Skipped(where, "no response recorded (StatusCode 0)")
    if not 100 <= status <= 999:
        raise ImportFormatError(path, f"{where}.Response.StatusCode", f"{status} is not a status")
    response_headers = _headers(resp.get("Header"), path, f"{where}.Response.Header")
    response_body = _base64(resp.get("Body"), path, f"{where}.Response.Body")
    proto = resp.get("Proto")
    response = response_from(
        status,
        response_headers,
        response_body,
        encoded=in_coding(response_body, response_headers),
        http_version=proto if isinstance(proto, str) and _PROTO.match(proto) else "HTTP/1.1",
    )
    request = replace(request, http_version=response.http_version)
    return make_interaction(
        request, response, source=path, source_format="httpreplay", recorded_at=recorded_at
    )


def _headers(value: Any, path: Path, where: str) -> Headers:
    """Go's http.Header as JSON: names to lists of values."""
    if value is None:
        return ()
    value = expect(value, dict, path, where, "an object of header names to value lists")
    for name, values in value.items():
        for one in values if isinstance(values, list) else [values]:
            expect(one, str, path, f"{where}.{name}", "text values")
    return headers_from(value)


def _parts(req: dict[str, Any], path: Path, where: str) -> list[bytes]:
    value = req.get("BodyParts")
    if value is None:
        return []
    value = expect(value, list, path, f"{where}.BodyParts", "a list of base64 parts")
    return [_base64(part, path, f"{where}.BodyParts[{i}]") for i, part in enumerate(value)]


def _base64(value: Any, path: Path, where: str) -> bytes:
    """Go's []byte as JSON: standard base64, null for nil."""
    if value is None:
        return b""
    value = expect(value, str, path, where, "base64 text")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError) as e:
        raise ImportFormatError(path, where, f"not valid base64: {e}") from e


def _multipart(parts: list[bytes], media_type: str) -> tuple[bytes, str]:
    """A multipart body of `parts` (no part headers), and its Content-Type."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(hashlib.sha256(part).digest())
    boundary = "virt" + digest.hexdigest()[:32]
    delimiter = b"--" + boundary.encode("ascii")
    body = b"".join(delimiter + b"\r\n\r\n" + part + b"\r\n" for part in parts)
    return body + delimiter + b"--\r\n", f"{media_type}; boundary={boundary}"


def _initial_time(value: Any) -> str:
    """Initial as ISO 8601 UTC when it is a Go time.Time from MarshalBinary, else ""."""
    if not isinstance(value, str):
        return ""
    try:
        data = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return ""
    # version 1: seconds since year 1 (int64), nanoseconds (int32), zone offset in minutes
    # (int16); version 2 adds the offset's seconds (int8). Seconds are absolute, zone aside.
    if not ((len(data) == 15 and data[0] == 1) or (len(data) == 16 and data[0] == 2)):
        return ""
    seconds, nanos = struct.unpack(">qi", data[1:13])
    if not 0 <= nanos < 1_000_000_000:
        return ""
    try:
        moment = _GO_EPOCH + timedelta(seconds=seconds, microseconds=nanos // 1000)
    except OverflowError:
        return ""
    if not 1970 <= moment.year <= 9999:
        return ""
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
