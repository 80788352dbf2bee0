"""nock recorder fixtures: a JSON array of definitions (scope, method, path, status, response).

nock's recorder (`nock.recorder.rec({output_objects: true})`, as octokit/fixtures uses it) keeps
bodies as values rather than bytes, so the reader turns them back into bytes:

- A response body that was JSON is stored parsed. It is written back as JavaScript's
  JSON.stringify would (compact, numbers as the file spells them), unless a Content-Length
  header names the length of another usual spelling (pretty-printed with two spaces, or with
  spaces after `,` and `:`), which is then taken instead.
- A request body that was JSON is written back compact: nock runs under Node, whose clients send
  JSON.stringify's output.
- `responseIsBinary: true` marks a body stored as hex. An array of hex strings with a
  Content-Encoding header is the wire bytes chunk by chunk (nock's way for encoded responses),
  and decodes here. Any other body was stored decoded even when a Content-Encoding header is
  kept, and replay re-encodes it.
- Headers come from `rawHeaders` (a flat name, value, name, value list, order and case kept)
  or, in older or hand-edited fixtures, from the `headers` object; request headers from
  `reqheaders`. nock records no reason phrase and no time.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from virt import encoding
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
)
from virt.model import Headers, header

_OPENING = re.compile(rb"\A(?:\xef\xbb\xbf)?\s*\[\s*\{")
_SCOPE = re.compile(rb'"scope"\s*:\s*"https?://')
_HEX = re.compile(r"(?:[0-9a-fA-F]{2})*")


class NockReader:
    name: ClassVar[str] = "nock"

    def sniff(self, path: Path) -> bool:
        start = head(path)
        return _OPENING.match(start) is not None and _SCOPE.search(start) is not None

    def read(self, path: Path) -> Iterator[Item]:
        try:
            raw = path.read_bytes()
        except OSError as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
        try:
            data = json.loads(raw, parse_float=_Number, parse_constant=_no_constant)
        except (ValueError, RecursionError) as e:
            raise ImportFormatError(path, "", f"not valid JSON: {e}") from e
        data = expect(data, list, path, "", "a JSON array of nock definitions")
        if not data:
            yield Skipped("", "the fixture holds no definitions")
        for index, definition in enumerate(data):
            yield _definition(definition, f"[{index}]", path)


READER = NockReader()


class _Number(str):
    """A JSON number with a fraction or exponent, kept as the file spells it."""


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _definition(value: Any, where: str, path: Path) -> Item:
    value = expect(value, dict, path, where, "a nock definition object")
    scope = expect(
        value.get("scope"),
        str,
        path,
        f"{where}.scope",
        "the origin, as https://host:port",
        nonempty=True,
    )
    method = expect(
        value.get("method"), str, path, f"{where}.method", "the request method", nonempty=True
    )
    target = expect(value.get("path", "/"), str, path, f"{where}.path", "the path with its query")
    # nock's reply() defaults to 200
    status = expect(value.get("status", 200), int, path, f"{where}.status", "an HTTP status")
    if not 100 <= status <= 999:
        raise ImportFormatError(path, f"{where}.status", f"{status} is not an HTTP status")

    request_headers = _headers(value.get("reqheaders"), path, f"{where}.reqheaders")
    try:
        request = request_from_url(
            method,
            scope.rstrip("/") + (target if target.startswith("/") else "/" + target),
            request_headers,
            _request_body(value.get("body"), path, f"{where}.body"),
        )
    except ValueError as e:
        raise ImportFormatError(path, f"{where}.scope", str(e)) from e

    if "rawHeaders" in value:
        response_headers = _raw_headers(value["rawHeaders"], path, f"{where}.rawHeaders")
    else:
        response_headers = _headers(value.get("headers"), path, f"{where}.headers")
    body, encoded = _response_body(value, response_headers, path, f"{where}.response")
    response = response_from(status, response_headers, body, encoded=encoded)
    return make_interaction(request, response, source=path, source_format="nock")


def _headers(value: Any, path: Path, where: str) -> Headers:
    if value is None:
        return ()
    value = expect(value, dict, path, where, "an object of header names to values")
    return headers_from({name: _header_value(v) for name, v in value.items()})


def _header_value(value: Any) -> Any:
    if isinstance(value, list):
        return [_header_value(v) for v in value]
    if isinstance(value, bool):
        return "true" if value else "false"
    return value


def _raw_headers(value: Any, path: Path, where: str) -> Headers:
    if not isinstance(value, list) or len(value) % 2:
        raise ImportFormatError(path, where, "expected a flat list of names and values")
    out: list[tuple[str, str]] = []
    for i in range(0, len(value), 2):
        name, v = value[i], value[i + 1]
        if not isinstance(name, str) or isinstance(v, dict | list):
            raise ImportFormatError(path, f"{where}[{i}]", "expected a header name and its value")
        out.append((name, "" if v is None else str(_header_value(v))))
    return tuple(out)


def _request_body(value: Any, path: Path, where: str) -> bytes:
    if value is None or value == "":
        return b""
    if isinstance(value, str):
        return _utf8(value)
    return _json_bytes(value, _COMPACT, path, where)


def _response_body(
    definition: dict[str, Any], headers: Headers, path: Path, where: str
) -> tuple[bytes, bool]:
    """(body, whether it is the wire bytes still in its Content-Encoding)."""
    value = definition.get("response", "")
    coded = encoding.normalize_coding(header(headers, "content-encoding")) is not None
    if isinstance(value, str):
        if definition.get("responseIsBinary") is True:
            body = _hex(value, path, where)
            return body, in_coding(body, headers)
        return _utf8(value), False
    if coded and isinstance(value, list) and value and all(_is_hex(c) for c in value):
        body = b"".join(bytes.fromhex(c) for c in value)
        return body, in_coding(body, headers)
    length = _content_length(headers)
    spellings = [_json_bytes(value, style, path, where) for style in _STYLES]
    for body in spellings:
        if len(body) == length:
            return body, False
    return spellings[0], False


def _hex(value: str, path: Path, where: str) -> bytes:
    if not _is_hex(value):
        raise ImportFormatError(path, where, "responseIsBinary is set but the body is not hex")
    return bytes.fromhex(value)


def _is_hex(value: Any) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def _utf8(text: str) -> bytes:
    # A lone surrogate (only an escape in the file can make one) is written as JSON escapes it.
    return text.encode("utf-8", "backslashreplace")


def _content_length(headers: Headers) -> int | None:
    value = header(headers, "content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


# (item separator, key separator, indent): JSON.stringify(v), JSON.stringify(v, null, 2), and
# the spaced one-line form (Python's json.dumps, some servers)
_COMPACT = (",", ":", 0)
_STYLES = (_COMPACT, (",", ": ", 2), (", ", ": ", 0))


def _json_bytes(value: Any, style: tuple[str, str, int], path: Path, where: str) -> bytes:
    try:
        return _utf8(_json(value, style, 0))
    except RecursionError as e:
        raise ImportFormatError(path, where, "the JSON body is nested too deeply") from e


def _json(value: Any, style: tuple[str, str, int], depth: int) -> str:
    if isinstance(value, _Number):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if value is None or isinstance(value, bool):
        return {None: "null", True: "true", False: "false"}[value]
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        items = [_json(v, style, depth + 1) for v in value]
        return _wrap("[", items, "]", style, depth)
    if isinstance(value, dict):
        if not value:
            return "{}"
        items = [
            json.dumps(k, ensure_ascii=False) + style[1] + _json(v, style, depth + 1)
            for k, v in value.items()
        ]
        return _wrap("{", items, "}", style, depth)
    raise TypeError(f"not a JSON value: {type(value).__name__}")  # json.loads builds no other


def _wrap(
    opening: str, items: list[str], closing: str, style: tuple[str, str, int], depth: int
) -> str:
    comma, _, indent = style
    if not indent:
        return opening + comma.join(items) + closing
    inner = "\n" + " " * (indent * (depth + 1))
    return opening + inner + ("," + inner).join(items) + "\n" + " " * (indent * depth) + closing
