"""One HAR entry as virt keeps it: the request and response it holds, the body in whichever
form its exporter wrote (text, base64, params, Polly.JS and Cody chunks), its timings; or why
it is passed over. Every malformed part is reported by where it is in the document."""

from __future__ import annotations

import base64
import binascii
import json
import re
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from virt import encoding
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    make_interaction,
    request_from_url,
    response_from,
)
from virt.formats.har.common import NAME, WIRE, charset_of, iso
from virt.model import Headers, Request, Response, Timings, header

_BOUNDARY = re.compile(r"boundary\s*=\s*\"?([^\";]+)", re.IGNORECASE)


class _Bad(Exception):
    """A malformed part of one entry: where in the document, and what was expected."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(why)
        self.where = where
        self.why = why


def item(entry: Any, where: str, path: Path) -> Item:
    """The interaction `entry` (at `where` in `path`) stands for, or Skipped and why.

    Raises ImportFormatError naming the part of the entry that broke, and nothing else.
    """
    try:
        return _item(entry, where, path)
    except _Bad as e:
        raise ImportFormatError(path, e.where, e.why) from None


def _item(entry: Any, where: str, path: Path) -> Item:
    e = _object(entry, where)
    response = e.get("response")
    if not isinstance(response, dict) or _status(response.get("status")) == 0:
        # exporters write status 0 (or leave the response out) for a request never answered
        if "_webSocketMessages" in e or e.get("_resourceType") == "websocket":
            return Skipped(where, "not HTTP: a websocket entry without a handshake response")
        error = response.get("_error") if isinstance(response, dict) else None
        return Skipped(where, f"no response: {error}" if error else "no response")
    req = _object(e.get("request"), f"{where}.request")
    post = req.get("postData")
    if "url" not in req and isinstance(post, dict) and "url" in post:
        # the request's own fields nested inside its postData (haralyzer's fixtures): the body
        # is lost, the rest is all there
        req = {**post, **{k: v for k, v in req.items() if k != "postData"}}
    scheme = urlsplit(_text(req.get("url"), f"{where}.request.url")).scheme.lower()
    if scheme and scheme not in ("http", "https", "ws", "wss"):
        return Skipped(where, f"not HTTP: a {scheme}: URL")  # data:, blob:, chrome-extension:
    started = _instant(e.get("startedDateTime"))
    interaction = make_interaction(
        _request(req, f"{where}.request"),
        _response(response, f"{where}.response"),
        source=path,
        source_format=NAME,
        recorded_at=iso(started) if started else "",
    )
    return replace(interaction, timings=_timings(started, e.get("time")))


def _status(value: Any) -> int:
    """The status code, 0 for none (None, "", 0 or less), -1 when it is not a number."""
    if value is None or value == "":
        return 0
    if isinstance(value, bool):
        return -1
    try:
        code = int(value)
    except (TypeError, ValueError):
        return -1
    return max(code, 0)


def _request(req: dict[str, Any], where: str) -> Request:
    method = _text(req.get("method"), f"{where}.method")
    url = _text(req.get("url"), f"{where}.url")
    headers = _headers(req.get("headers"), f"{where}.headers")
    body = _post_body(req.get("postData"), headers, f"{where}.postData")
    query = req.get("queryString")
    if "?" not in url and isinstance(query, list) and query:
        # the URL is what was sent; queryString only stands in when the URL lost its query
        pairs = _pairs(query, f"{where}.queryString")
        url = f"{url}?{urlencode(pairs)}"
    if not method:
        raise _Bad(f"{where}.method", "expected an HTTP method")
    scheme, sep, rest = url.partition("://")
    if sep and scheme.lower() in ("ws", "wss"):
        # a websocket entry's URL names the upgrade request, which went over http(s)
        url = f"{'https' if scheme.lower() == 'wss' else 'http'}://{rest}"
    try:
        request = request_from_url(method, url, headers, body)
    except ValueError as e:
        raise _Bad(f"{where}.url", f"expected an absolute http(s) URL: {e}") from None
    return replace(request, http_version=_http_version(req.get("httpVersion")))


def _response(resp: dict[str, Any], where: str) -> Response:
    status = resp.get("status")
    code = _status(status)
    if not 100 <= code <= 599:
        raise _Bad(f"{where}.status", f"expected an HTTP status from 100 to 599, got {status!r}")
    headers = _headers(resp.get("headers"), f"{where}.headers")
    body, encoded = _content(resp.get("content"), headers, f"{where}.content")
    reason = resp.get("statusText")
    return response_from(
        code,
        headers,
        body,
        encoded=encoded,
        reason=reason if isinstance(reason, str) else "",
        http_version=_http_version(resp.get("httpVersion")),
    )


def _headers(value: Any, where: str) -> Headers:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _Bad(where, "expected a list of {name, value} objects")
    out = []
    for i, item in enumerate(value):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise _Bad(f"{where}[{i}]", "expected an object with a name and a value")
        name = item["name"]
        if name.startswith(":"):
            continue  # HTTP/2 pseudo-headers: already in the method and URL
        out.append((_wire(name), _wire(_scalar(item.get("value")))))
    return tuple(out)


def _post_body(post: Any, headers: Headers, where: str) -> bytes:
    if post is None:
        return b""
    post = _object(post, where)
    mime = post.get("mimeType") if isinstance(post.get("mimeType"), str) else ""
    text = post.get("text")
    if isinstance(text, str):
        if post.get("encoding") == "base64":
            return _b64(text, f"{where}.text")
        return _encode(text, mime or header(headers, "content-type"))
    if text is not None:
        raise _Bad(f"{where}.text", "expected a string")
    if "textJSON" in post:
        # Cody stores JSON bodies parsed (as YAML); its replay sends JSON.stringify of them
        return json.dumps(
            post["textJSON"], ensure_ascii=False, separators=(",", ":"), default=str
        ).encode()
    params = post.get("params")
    if isinstance(params, list) and params:
        return _form_body(params, mime or header(headers, "content-type") or "", f"{where}.params")
    return b""


def _form_body(params: list[Any], mime: str, where: str) -> bytes:
    """The body HAR's postData.params stand for, in order: multipart when a boundary is named,
    else application/x-www-form-urlencoded."""
    boundary = _BOUNDARY.search(mime) if "multipart/" in mime.lower() else None
    if boundary is None:
        return urlencode(_pairs(params, where)).encode()
    parts = []
    for i, p in enumerate(params):
        p = _object(p, f"{where}[{i}]")
        disposition = f'form-data; name="{_scalar(p.get("name"))}"'
        if p.get("fileName"):
            disposition += f'; filename="{_scalar(p.get("fileName"))}"'
        lines = [f"--{boundary.group(1)}", f"Content-Disposition: {disposition}"]
        if p.get("contentType"):
            lines.append(f"Content-Type: {_scalar(p.get('contentType'))}")
        parts.append("\r\n".join([*lines, "", _scalar(p.get("value"))]).encode())
    return b"\r\n".join([*parts, f"--{boundary.group(1)}--".encode(), b""])


def _content(content: Any, headers: Headers, where: str) -> tuple[bytes, bool]:
    """(body, whether it is as on the wire) from response.content.

    HAR keeps the decoded body even when Content-Encoding names a coding, as text or, for
    bytes, as base64. Two exporters keep wire bytes instead, and both are told apart here.
    """
    if content is None:
        return b"", False
    content = _object(content, where)
    text = content.get("text")
    if text is None and "textJSON" in content:
        text = json.dumps(content["textJSON"], ensure_ascii=False, separators=(",", ":"))
    if text is None:
        return b"", False
    if not isinstance(text, str):
        raise _Bad(f"{where}.text", "expected a string")
    content_encoding = header(headers, "content-encoding")
    declared = content.get(WIRE)  # what virt's own export says, where a guess could go wrong
    if content.get("encoding") != "base64":
        chunks = _hex_chunks(text) if content_encoding and declared is None else None
        if chunks is not None and _wire_bytes(chunks, content_encoding):
            return chunks, True
        content_type = _str_or_none(content.get("mimeType")) or header(headers, "content-type")
        return _encode(text, content_type), False
    if text.lstrip().startswith("["):
        # Cody's Polly persister: base64 chunks as they came off the socket (gzip and all),
        # as a JSON array; "[" is not a base64 character, so this cannot be plain base64.
        try:
            parts = json.loads(text)
        except ValueError as e:
            raise _Bad(f"{where}.text", f"expected a JSON array of base64 chunks: {e}") from None
        if not isinstance(parts, list) or not all(isinstance(c, str) for c in parts):
            raise _Bad(f"{where}.text", "expected a JSON array of base64 chunks")
        return b"".join(_b64(c, f"{where}.text") for c in parts), True
    data = _b64(text, f"{where}.text")
    return data, declared if isinstance(declared, bool) else _wire_bytes(data, content_encoding)


def _hex_chunks(text: str) -> bytes | None:
    """The bytes of Polly.JS's node-http form of an encoded body, a JSON array of hex chunks as
    they came off the socket, or None when `text` is not that."""
    if not text.startswith('["') or not text.endswith('"]'):
        return None
    try:
        parts = json.loads(text)
        return b"".join(bytes.fromhex(p) for p in parts)
    except (ValueError, TypeError):
        return None


def _wire_bytes(data: bytes, content_encoding: str | None) -> bool:
    """Whether a body is still in its Content-Encoding, as some exporters keep it.

    HAR keeps bodies decoded, and a decoded body is almost never valid data in the coding too.
    mitmproxy's export falls back to the raw bytes when a body does not decode, so bytes with
    gzip's magic number are wire bytes even when they are corrupt.
    """
    coding = encoding.normalize_coding(content_encoding)
    if coding is None or not data:
        return False
    if coding in ("gzip", "x-gzip") and data.startswith(b"\x1f\x8b"):
        return True
    try:
        encoding.decode(data, coding)
    except encoding.CodingError:
        return False
    return True


# small parts


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(where, f"expected an object, got {type(value).__name__}")
    return value


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str):
        raise _Bad(where, f"expected a string, got {type(value).__name__}")
    return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _scalar(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _wire(text: str) -> str:
    """Header text as the model keeps it: a character per byte (latin-1); UTF-8 bytes if need be."""
    try:
        text.encode("latin-1")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass").decode("latin-1")


def _pairs(items: list[Any], where: str) -> list[tuple[str, str]]:
    out = []
    for i, item in enumerate(items):
        item = _object(item, f"{where}[{i}]")
        out.append((_scalar(item.get("name")), _scalar(item.get("value"))))
    return out


def _b64(text: str, where: str) -> bytes:
    try:
        data = "".join(text.split())
        return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
    except (binascii.Error, ValueError) as e:
        raise _Bad(where, f"expected base64: {e}") from None


def _encode(text: str, content_type: str | None) -> bytes:
    """Body text back to bytes, in the charset its type names (UTF-8 when none)."""
    charset = charset_of(content_type)
    try:
        return text.encode(charset)
    except UnicodeEncodeError:
        pass
    try:
        return text.encode("utf-8", "surrogateescape")  # bytes a tool kept as lone surrogates
    except UnicodeEncodeError:
        return text.encode("utf-8", "surrogatepass")


def _http_version(value: Any) -> str:
    version = value.strip().upper() if isinstance(value, str) else ""
    version = {"H2": "HTTP/2.0", "HTTP/2": "HTTP/2.0", "H3": "HTTP/3"}.get(version, version)
    return version if version.startswith("HTTP/") else "HTTP/1.1"


def _instant(value: Any) -> datetime | None:
    if isinstance(value, datetime):  # YAML reads unquoted timestamps as datetimes
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    else:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _timings(started: datetime | None, time_ms: Any) -> Timings | None:
    if started is None:
        return None
    start = started.timestamp()
    if isinstance(time_ms, int | float) and not isinstance(time_ms, bool) and time_ms >= 0:
        return Timings(request_start=start, response_end=start + time_ms / 1000)
    return Timings(request_start=start)
