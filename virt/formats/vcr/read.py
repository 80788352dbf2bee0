"""Read VCR.py cassettes, YAML and JSON, in every dialect seen in the wild (see __init__)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import urlencode

from virt import encoding
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    head,
    make_interaction,
    response_from,
)
from virt.formats.cassette import (
    body_bytes,
    entries,
    headers_of,
    iso_time,
    load_document,
    request_of,
    response_of,
    sides,
    status_line,
)
from virt.formats.vcr.common import NAME, VERSION
from virt.model import DEFAULT_PORTS, Headers, Request, Response, header

__all__ = ["READER", "VcrReader"]

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
"""Converters from an old cassette version to the next, applied in order up to VERSION."""


def _cassette(data: Any, path: Path) -> dict[str, Any]:
    """`data` migrated to a 1.x cassette; refuses by name a version newer than virt knows."""
    if isinstance(data, list):
        version = 0
    elif isinstance(data, dict) and isinstance(data.get("interactions"), list):
        version = data.get("version", VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise ImportFormatError(path, "version", f"not a VCR.py cassette version: {version!r}")
        if version > VERSION:
            raise ImportFormatError(
                path,
                "version",
                f"VCR.py cassette version {version} is newer than virt reads (up to {VERSION})",
                hint="upgrade virt, or re-record the cassette with a VCR.py that writes version 1",
            )
    else:
        raise ImportFormatError(
            path, "", "not a VCR.py cassette: expected a mapping with an interactions list"
        )
    while version < VERSION:
        data = _MIGRATIONS[version](data, path)
        version += 1
    assert isinstance(data, dict)
    return data


class VcrReader:
    """Reads VCR.py cassettes (.yaml, .yml, .json)."""

    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() not in (".yaml", ".yml", ".json"):
            return False
        text = head(path)
        if re.search(rb"^\s*(\"http_interactions\"|http_interactions\s*:)", text, re.M):
            return False  # Betamax and Ruby VCR
        version = re.search(rb"^[ \t]{0,4}\"?version\"?\s*:\s*(\d+)", text, re.M)
        if version is not None and int(version.group(1)) != VERSION:
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
        yield from entries(
            cassette["interactions"],
            prefix,
            path,
            lambda entry, where: self._entry(entry, where, path, default_time),
        )

    def _entry(self, entry: Any, where: str, path: Path, default_time: str) -> Item:
        found = sides(entry, where, path)
        if isinstance(found, Skipped):
            return found
        raw_request, raw_response = found
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
        status, reason = status_line(raw, where, path)
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


READER = VcrReader()
