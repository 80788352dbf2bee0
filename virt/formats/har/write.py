"""Writing HAR 1.2 that browsers' tools, mitmproxy and virt's own reader load, streamed entry by
entry to a file that replaces the target only once complete; .zhar is zlib-compressed."""

from __future__ import annotations

import base64
import contextlib
import json
import os
import tempfile
import zlib
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, ClassVar
from urllib.parse import parse_qsl

from virt import __version__, encoding
from virt.formats.har.common import NAME, WIRE, charset_of, iso
from virt.model import Headers, Interaction, header


class HarWriter:
    """Writes HAR 1.2 that browsers' tools, mitmproxy and the reader load; .zhar is compressed."""

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
        content[WIRE] = resp.encoding is None
    timings = interaction.timings
    duration = (timings.duration_ms if timings else None) or 0
    started = interaction.recorded_at or iso(
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
    """`body` as text when the reader's _encode (in entry.py) gives back exactly these bytes,
    else None."""
    charset = charset_of(content_type)
    try:
        text = body.decode(charset)
    except UnicodeDecodeError:
        return None
    return text if text.encode(charset) == body else None


def _base64(body: bytes) -> dict[str, str]:
    return {"text": base64.b64encode(body).decode("ascii"), "encoding": "base64"}
