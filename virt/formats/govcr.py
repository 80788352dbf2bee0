"""go-vcr cassettes (github.com/dnaeon/go-vcr): YAML, `version: 1` or `2`, optionally gzipped.

One shape serves every go-vcr release: each interaction has a request (method, url, headers,
body, form) and a response (code, status "200 OK", headers, body, duration); go-vcr v2.x and
later add an id and Go's http fields (proto, content_length, host, transfer_encoding, ...),
which the reader uses where virt has a place for them (the protocol version, the host of a URL
without one). `form` repeats the body's or the query's parameters and is informational.

Bodies are the text the Go client sent and read. Go's transport takes gzip off a response
itself (and then drops Content-Encoding, `uncompressed: true`) unless the client asked for an
encoding: such bodies are not UTF-8 and yaml writes them as !!binary. A body that decodes in the
coding its headers name is taken as the wire bytes; any other as decoded. go-vcr records no
time, only a duration, so recorded_at stays empty.
"""

from __future__ import annotations

import gzip
import re
import zlib
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, ClassVar

from virt.formats import yamlsafe
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    describe,
    expect,
    head,
    headers_from,
    in_coding,
    make_interaction,
    request_from_url,
    response_from,
    with_body,
)
from virt.formats.yamlsafe import TextTimestampLoader
from virt.model import Headers

VERSIONS = (1, 2)
"""Cassette format versions read: 1 (go-vcr v1) and 2 (go-vcr v2 to v4)."""

# go-vcr marshals the Cassette struct in field order: version first, then interactions. VCR.py
# usually sorts its keys (interactions first), but not always; its requests have a `uri` where
# go-vcr's have a `url`, and its bodies are mappings with a `string`.
_SIGNATURE = re.compile(
    rb"\A(?:\xef\xbb\xbf)?(?:---[ \t]*\r?\n)?(?:[ \t]*(?:#[^\n]*)?\r?\n)*"
    rb"version:[ \t]*\d+[ \t]*\r?\ninteractions:"
)
_VCRPY = re.compile(rb"^[ \t-]+(?:uri|string):[ \t]|\{string:|status: \{code:", re.MULTILINE)
_STATUS = re.compile(r"\s*(\d{3})(?:\s+(.*))?\Z", re.DOTALL)
_PROTO = re.compile(r"HTTP/\d(?:\.\d)?\Z")


class GoVcrReader:
    name: ClassVar[str] = "go-vcr"

    def sniff(self, path: Path) -> bool:
        name = path.name.lower()
        if not name.endswith((".yaml", ".yml", ".yaml.gz", ".yml.gz")):
            return False
        start = head(path)
        if start[:2] == b"\x1f\x8b":
            try:
                start = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(start, 4096)
            except zlib.error:
                return False
        return _SIGNATURE.match(start) is not None and _VCRPY.search(start) is None

    def read(self, path: Path) -> Iterator[Item]:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
        if raw[:2] == b"\x1f\x8b":  # a cassette saved with compression_enabled (.yaml.gz)
            try:
                raw = gzip.decompress(raw)
            except (OSError, EOFError, zlib.error) as e:
                raise ImportFormatError(path, "", f"not a valid gzip file: {e}") from e
        data = yamlsafe.load(raw, path, TextTimestampLoader)
        data = expect(data, dict, path, "", "a go-vcr cassette (version, interactions)")
        version = expect(data.get("version"), int, path, "version", "the cassette format version")
        if version < 1:
            raise ImportFormatError(path, "version", f"{version} is not a cassette format version")
        if version > max(VERSIONS):
            raise ImportFormatError(
                path,
                "version",
                f"written by a newer go-vcr (cassette version {version}; "
                f"virt reads versions {', '.join(map(str, VERSIONS))})",
                hint="upgrade virt, or convert the cassette to HAR",
            )
        interactions = data.get("interactions")
        if interactions is None or interactions == []:
            yield Skipped("interactions", "the cassette holds no interactions")
            return
        interactions = expect(interactions, list, path, "interactions", "a list of interactions")
        for index, interaction in enumerate(interactions):
            yield _interaction(interaction, f"interactions[{index}]", path)


READER = GoVcrReader()


def _interaction(value: Any, where: str, path: Path) -> Item:
    value = expect(value, dict, path, where, "a mapping with request and response")
    req = expect(value.get("request"), dict, path, f"{where}.request", "a mapping")
    resp = expect(value.get("response"), dict, path, f"{where}.response", "a mapping")
    method = expect(
        req.get("method"), str, path, f"{where}.request.method", "the request method", nonempty=True
    )
    url = expect(
        req.get("url"), str, path, f"{where}.request.url", "the request URL", nonempty=True
    )
    host = req.get("host")
    request_headers = _headers(req.get("headers"), path, f"{where}.request.headers")
    try:
        request = request_from_url(
            method, url, request_headers, default_host=host if isinstance(host, str) else ""
        )
    except ValueError as e:
        raise ImportFormatError(path, f"{where}.request.url", str(e)) from e
    request_body = _body(req.get("body"), path, f"{where}.request.body")
    request = with_body(request, request_body, encoded=in_coding(request_body, request_headers))
    request = replace(request, http_version=_proto(req.get("proto")))

    code, reason = _status(resp, path, f"{where}.response")
    if code == 0:
        return Skipped(where, "no response recorded (code 0)")
    response_headers = _headers(resp.get("headers"), path, f"{where}.response.headers")
    body = _body(resp.get("body"), path, f"{where}.response.body")
    response = response_from(
        code,
        response_headers,
        body,
        encoded=in_coding(body, response_headers),
        reason=reason,
        http_version=_proto(resp.get("proto")),
    )
    return make_interaction(request, response, source=path, source_format="go-vcr")


def _headers(value: Any, path: Path, where: str) -> Headers:
    """Go's http.Header: names to lists of values (a plain string in hand-written cassettes)."""
    if value is None:
        return ()
    value = expect(value, dict, path, where, "a mapping of header names to values")
    for name, values in value.items():
        for one in values if isinstance(values, list) else [values]:
            if isinstance(one, dict | list):
                raise ImportFormatError(path, f"{where}.{name}", "expected text values")
    return headers_from(value)


def _body(value: Any, path: Path, where: str) -> bytes:
    if value is None:
        return b""
    if isinstance(value, str):
        return value.encode("utf-8", "surrogateescape")
    if isinstance(value, bytes):  # !!binary: yaml writes Go strings that are not UTF-8 this way
        return value
    raise ImportFormatError(path, where, f"expected the body as text, got {describe(value)}")


def _status(resp: dict[str, Any], path: Path, where: str) -> tuple[int, str]:
    """(code, reason) from `code` and `status` ("200 OK"); either may be missing."""
    code, status = resp.get("code"), resp.get("status")
    reason = ""
    if isinstance(status, str) and (m := _STATUS.match(status)):
        reason = (m.group(2) or "").strip()
        if code is None:
            code = int(m.group(1))
    code = expect(code, int, path, f"{where}.code", "an HTTP status code")
    if code < 0 or 0 < code < 100 or code > 999:  # 0: go-vcr recorded no response
        raise ImportFormatError(path, f"{where}.code", f"{code} is not an HTTP status code")
    return code, reason


def _proto(value: Any) -> str:
    return value if isinstance(value, str) and _PROTO.match(value) else "HTTP/1.1"
