"""HTTP Archive (HAR 1.2): read browser, Polly.JS, Cody and mitmproxy exports; write HAR 1.2."""

from __future__ import annotations

import base64
import binascii
import codecs
import contextlib
import json
import os
import re
import sys
import tempfile
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar
from urllib.parse import parse_qsl, urlencode, urlsplit

import ijson
import yaml
from ijson.common import ObjectBuilder

from virt import __version__, encoding
from virt.formats.base import (
    ImportFormatError,
    Item,
    Skipped,
    head,
    make_interaction,
    request_from_url,
    response_from,
)
from virt.model import Headers, Interaction, Request, Response, Timings, header

NAME = "har"

_SUFFIXES = (".har", ".zhar", ".har.yaml", ".har.yml")
_ZLIB_MAGIC = (b"\x78\x01", b"\x78\x5e", b"\x78\x9c", b"\x78\xda")
_LOG_OBJECT = re.compile(rb'\{\s*"log"\s*:\s*\{')
_CHARSET = re.compile(r"charset\s*=\s*\"?([\w.:-]+)", re.IGNORECASE)
_BOUNDARY = re.compile(r"boundary\s*=\s*\"?([^\";]+)", re.IGNORECASE)
# ijson prefixes of one entry: "log.entries.item", or one key deeper for a document that wraps
# its log (mitmproxy's har_extractor fixture nests it under "test_response")
_ENTRY_PREFIX = re.compile(r"(?:([^.]+)\.)?log\.entries\.item")
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_WIRE = "_wireBytes"
"""virt's extension to response.content under a Content-Encoding: true when the base64 body is
as it was sent (it did not decode), false when it is decoded as HAR has it."""


class _Bad(Exception):
    """A malformed part of one entry: where in the document, and what was expected."""

    def __init__(self, where: str, why: str) -> None:
        super().__init__(why)
        self.where = where
        self.why = why


class HarReader:
    """Reads HAR as JSON (plain, BOM-prefixed or zlib-compressed .zhar) or YAML, entry by entry."""

    name: ClassVar[str] = NAME

    def sniff(self, path: Path) -> bool:
        lower = path.name.lower()
        if lower.endswith(_SUFFIXES):
            return True
        data = _plain_head(head(path))
        if lower.endswith((".yaml", ".yml")):
            return data.startswith(b"log:") and b"entries:" in data
        if not data.startswith(b"{"):
            return False
        if _LOG_OBJECT.match(data):
            return True
        # a bare entry with no log around it, as haralyzer's fixtures have
        return b'"startedDateTime"' in data and b'"request"' in data and b'"response"' in data

    def read(self, path: Path) -> Iterator[Item]:
        for where, entry in _entries(path):
            try:
                yield _item(entry, where, path)
            except _Bad as e:
                raise ImportFormatError(path, e.where, e.why) from None


READER = HarReader()


# documents


def _plain_head(data: bytes) -> bytes:
    """The start of a HAR document's text: without a BOM, inflated if zlib-compressed."""
    data = data.removeprefix(codecs.BOM_UTF8)
    if data[:2] in _ZLIB_MAGIC:
        try:
            data = zlib.decompressobj().decompress(data, 4096)
        except zlib.error:
            return b""
    return data.removeprefix(codecs.BOM_UTF8).lstrip()


def _entries(path: Path) -> Iterator[tuple[str, Any]]:
    """(where, entry) for every entry of the document at `path`, JSON read one entry at a time."""
    try:
        f = path.open("rb")
    except OSError as e:
        raise ImportFormatError(path, "", f"cannot read the file: {e.strerror or e}") from e
    with f:
        try:
            start = f.read(4096)
            stream: IO[bytes] | _Inflated = f
            if start[:2] in _ZLIB_MAGIC:
                f.seek(0)
                stream = _Inflated(f)
                start = stream.peek(4096)
            elif path.name.lower().endswith(".zhar"):
                raise ImportFormatError(path, "", "expected zlib-compressed HAR (.zhar)")
            else:
                f.seek(0)
            if start.startswith(codecs.BOM_UTF8):
                stream.read(len(codecs.BOM_UTF8))
        except (OSError, ValueError) as e:
            raise ImportFormatError(path, "", f"cannot read the file: {e}") from None
        first = start.removeprefix(codecs.BOM_UTF8).lstrip()[:1]
        if path.name.lower().endswith((".yaml", ".yml")) or first not in (b"{", b"[", b""):
            yield from _yaml_entries(stream, path)
        else:
            yield from _json_entries(stream, path)


class _Inflated:
    """A zlib stream read as a file, so a .zhar streams like a .har (mitmproxy writes these)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._z = zlib.decompressobj()
        self._buffer = b""

    def peek(self, size: int) -> bytes:
        self._buffer += self._inflate(size)
        return self._buffer[:size]

    def read(self, size: int = -1) -> bytes:
        want = sys.maxsize if size is None or size < 0 else size
        out, self._buffer = self._buffer[:want], self._buffer[want:]
        return out + self._inflate(want - len(out))

    def _inflate(self, want: int) -> bytes:
        out = bytearray()
        while len(out) < want and not self._z.eof:
            data = self._z.unconsumed_tail or self._raw.read(65536)
            if not data:
                raise ValueError("the zlib-compressed HAR ends early")
            try:
                out += self._z.decompress(data, min(want - len(out), 1 << 20))
            except zlib.error as e:
                raise ValueError(f"not valid zlib data: {e}") from e
        return bytes(out)


def _json_entries(stream: IO[bytes] | _Inflated, path: Path) -> Iterator[tuple[str, Any]]:
    # Entries are built one at a time from parser events; everything else (pages, creator, a
    # bare entry) goes to `rest`, which is small, and is looked at once the document ends.
    events = ijson.parse(stream, use_float=True)
    rest = ObjectBuilder()
    entry: Any = None
    depth = index = 0
    wrapper = ""
    while True:
        try:
            event = next(events, None)
        except Exception as e:  # the parser's errors, bad UTF-8, a broken zlib stream
            where = f"{wrapper}log.entries[{index}]" if entry is not None else ""
            raise ImportFormatError(path, where, f"not valid JSON: {_first_line(e)}") from None
        if event is None:
            break
        prefix, kind, value = event
        if entry is None:
            match = _ENTRY_PREFIX.fullmatch(prefix)
            if match is None or kind in ("end_array", "map_key"):
                rest.event(kind, value)
                continue
            wrapper = f"{match.group(1)}." if match.group(1) else ""
            if kind not in ("start_map", "start_array"):  # a scalar where an entry belongs
                yield f"{wrapper}log.entries[{index}]", value
                index += 1
                continue
            entry, depth = ObjectBuilder(), 0
        entry.event(kind, value)
        depth += kind in ("start_map", "start_array")
        depth -= kind in ("end_map", "end_array")
        if depth == 0:
            yield f"{wrapper}log.entries[{index}]", entry.value
            entry = None
            index += 1
    yield from _document_entries(getattr(rest, "value", None), path, streamed=index > 0)


def _yaml_entries(stream: IO[bytes] | _Inflated, path: Path) -> Iterator[tuple[str, Any]]:
    """HAR serialised as YAML (Polly.JS and Cody recordings): loaded whole, then walked."""
    try:
        doc = yaml.load(stream.read(), Loader=_YAML_LOADER)  # a safe loader
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark
        where = f"line {mark.line + 1}" if mark is not None else ""
        raise ImportFormatError(path, where, f"not valid YAML: {e.problem}") from None
    except Exception as e:
        raise ImportFormatError(path, "", f"not valid YAML or JSON: {e}") from None
    yield from _document_entries(doc, path, streamed=False)


def _document_entries(doc: Any, path: Path, *, streamed: bool) -> Iterator[tuple[str, Any]]:
    """The entries of a whole document (YAML), or of what is left once entries were streamed."""
    if isinstance(doc, dict) and "log" not in doc and "request" not in doc:
        inner = [(k, v) for k, v in doc.items() if isinstance(v, dict) and "log" in v]
        if len(inner) == 1:
            key, doc = inner[0]
            yield from _log_entries(doc["log"], f"{key}.log", path, streamed)
            return
    if isinstance(doc, dict) and "log" in doc:
        yield from _log_entries(doc["log"], "log", path, streamed)
    elif isinstance(doc, dict) and "request" in doc:
        yield "entry", doc  # a single entry with no log around it
    elif not streamed:
        raise ImportFormatError(
            path, "", "not a HAR document: expected an object with log.entries (or one entry)"
        )


def _log_entries(log: Any, where: str, path: Path, streamed: bool) -> Iterator[tuple[str, Any]]:
    if not isinstance(log, dict):
        raise ImportFormatError(path, where, "expected an object with entries")
    entries = log.get("entries", [])  # a log of pages only has nothing to import
    if not isinstance(entries, list):
        raise ImportFormatError(path, f"{where}.entries", "expected a list of entries")
    if not streamed:
        for i, entry in enumerate(entries):
            yield f"{where}.entries[{i}]", entry


# one entry


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
        recorded_at=_iso(started) if started else "",
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
    declared = content.get(_WIRE)  # what virt's own export says, where a guess could go wrong
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


def _charset(content_type: str | None) -> str:
    match = _CHARSET.search(content_type or "")
    if match is not None:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _encode(text: str, content_type: str | None) -> bytes:
    """Body text back to bytes, in the charset its type names (UTF-8 when none)."""
    charset = _charset(content_type)
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


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _timings(started: datetime | None, time_ms: Any) -> Timings | None:
    if started is None:
        return None
    start = started.timestamp()
    if isinstance(time_ms, int | float) and not isinstance(time_ms, bool) and time_ms >= 0:
        return Timings(request_start=start, response_end=start + time_ms / 1000)
    return Timings(request_start=start)


# writing


class HarWriter:
    """Writes HAR 1.2 that browsers' tools, mitmproxy and this reader load; .zhar is compressed."""

    name: ClassVar[str] = NAME

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        # Entries go out one at a time, to a temporary file that replaces `path` only once
        # complete, so a large export never sits in memory and a failed one leaves no half file.
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        count = 0
        try:
            with os.fdopen(fd, "wb") as raw:
                out = _Deflating(raw) if path.name.lower().endswith(".zhar") else raw
                creator = {"name": "virt", "version": __version__}
                log = {"version": "1.2", "creator": creator, "pages": []}
                out.write(json.dumps({"log": log})[:-2].encode() + b', "entries": [')
                for interaction in interactions:
                    entry = json.dumps(_entry(interaction), ensure_ascii=False)
                    out.write((",\n" if count else "\n").encode() + entry.encode())
                    count += 1
                out.write(b"\n]}}\n")
                if isinstance(out, _Deflating):
                    out.close()
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return count


WRITER = HarWriter()


class _Deflating:
    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self._z = zlib.compressobj()

    def write(self, data: bytes) -> None:
        self._raw.write(self._z.compress(data))

    def close(self) -> None:
        self._raw.write(self._z.flush())


def _entry(interaction: Interaction) -> dict[str, Any]:
    req, resp = interaction.request, interaction.response
    request: dict[str, Any] = {
        "method": req.method,
        "url": req.url,
        "httpVersion": req.http_version,
        "cookies": [],
        "headers": _header_list(req.headers),
        "queryString": [
            {"name": k, "value": v} for k, v in parse_qsl(req.query, keep_blank_values=True)
        ],
        "headersSize": -1,
        "bodySize": len(req.body),
    }
    content_type = header(req.headers, "content-type")
    if req.body:
        text = _decoded(req.body, content_type)
        post: dict[str, Any] = {"mimeType": content_type or "", "params": []}
        post.update({"text": text} if text is not None else _base64(req.body))
        request["postData"] = post
    text = _decoded(resp.body, header(resp.headers, "content-type"))
    content: dict[str, Any] = {
        "size": len(resp.body),
        "mimeType": header(resp.headers, "content-type") or "",
    }
    coded = encoding.normalize_coding(header(resp.headers, "content-encoding")) is not None
    if text is None or (coded and resp.encoding is None):
        content.update(_base64(resp.body))
    else:
        content["text"] = text
    if coded:
        # say whether the body is decoded, as HAR has it, or, because it did not decode, as it
        # was sent, rather than leave readers to guess
        content[_WIRE] = resp.encoding is None
    timings = interaction.timings
    duration = (timings.duration_ms if timings else None) or 0
    started = interaction.recorded_at or _iso(
        datetime.fromtimestamp(timings.request_start if timings else 0, UTC)
    )
    return {
        "startedDateTime": started,
        "time": duration,
        "request": request,
        "response": {
            "status": resp.status,
            "statusText": resp.reason,
            "httpVersion": resp.http_version,
            "cookies": [],
            "headers": _header_list(resp.headers),
            "content": content,
            "redirectURL": header(resp.headers, "location") or "",
            "headersSize": -1,
            "bodySize": len(resp.wire_body if resp.wire_body is not None else resp.body),
        },
        "cache": {},
        "timings": {"send": 0, "wait": duration, "receive": 0},
    }


def _header_list(headers: Headers) -> list[dict[str, str]]:
    return [{"name": k, "value": v} for k, v in headers]


def _decoded(body: bytes, content_type: str | None) -> str | None:
    """`body` as text when the reader's _encode gives back exactly these bytes, else None."""
    charset = _charset(content_type)
    try:
        text = body.decode(charset)
    except UnicodeDecodeError:
        return None
    return text if text.encode(charset) == body else None


def _base64(body: bytes) -> dict[str, str]:
    return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}


def _first_line(e: Exception) -> str:
    return (str(e).strip().splitlines() or [type(e).__name__])[0]
