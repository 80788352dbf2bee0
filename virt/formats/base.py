"""The Reader and Writer protocols every format implements, and the errors they raise."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol
from urllib.parse import urlsplit

from virt import encoding
from virt.errors import VirtError
from virt.model import DEFAULT_PORTS, Headers, Interaction, Request, Response, header, url_text


class ImportFormatError(VirtError):
    """A recording file that cannot be read: names the file, the entry that broke, and why."""

    def __init__(self, path: Path | str, where: str, why: str, hint: str = "") -> None:
        location = f"{path}: {where}" if where else str(path)
        super().__init__(f"{location}: {why}", hint)
        self.path = str(path)
        self.where = where
        self.why = why


@dataclass(frozen=True, slots=True)
class Skipped:
    """An entry a reader passed over on purpose, and why (no response, not HTTP, ...)."""

    where: str
    why: str


Item = Interaction | Skipped
"""What a reader yields: an interaction to store, or an entry it passed over and why."""


class Reader(Protocol):
    name: ClassVar[str]
    """What --format accepts: "har", "vcr", "wiremock", ..."""

    def sniff(self, path: Path) -> bool:
        """A cheap look: is this file (or folder) mine? Never raises."""
        ...

    def read(self, path: Path) -> Iterator[Item]:
        """The interactions in `path`, streamed. Raises ImportFormatError and nothing else."""
        ...


class Writer(Protocol):
    name: ClassVar[str]

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        """Write `interactions` to `path` (a file or a folder, per format); returns how many."""
        ...


# helpers shared by readers


def head(path: Path, size: int = 4096) -> bytes:
    """The first `size` bytes of `path`, or b"" when it cannot be read (sniffing never raises)."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def request_from_url(
    method: str, url: str, headers: Headers = (), body: bytes = b"", *, default_host: str = ""
) -> Request:
    """A Request for an absolute URL (or a path, with `default_host` over http)."""
    parts = urlsplit(url)
    scheme = (parts.scheme or "http").lower()
    host = parts.hostname or default_host
    if not host:
        raise ValueError(f"no host in URL {url!r}")
    try:
        port = parts.port or DEFAULT_PORTS.get(scheme, 80)
    except ValueError as e:
        raise ValueError(f"bad port in URL {url!r}") from e
    path = url_text((parts.path or "/").encode("utf-8", "surrogateescape"))
    return Request(
        method=method.upper(),
        scheme=scheme,
        host=host.lower(),
        port=port,
        path=path,
        query=parts.query,
        headers=headers,
        body=body,
    )


def headers_from(value: Any) -> Headers:
    """Headers from the shapes formats use: a dict of str or lists, or a list of pairs/dicts."""
    out: list[tuple[str, str]] = []
    if not value:
        return ()
    if isinstance(value, dict):
        items: Iterable[tuple[Any, Any]] = value.items()
    else:
        items = []
        for item in value:
            if isinstance(item, dict) and "name" in item:
                items.append((item["name"], item.get("value", "")))
            elif isinstance(item, list | tuple) and len(item) == 2:
                items.append((item[0], item[1]))
    for name, v in items:
        values = v if isinstance(v, list | tuple) else [v]
        for one in values:
            out.append((_text(name), _text(one)))
    return tuple(out)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return "" if value is None else str(value)


def b64(value: str, where: str, path: Path) -> bytes:
    """Decode base64 or fail with an ImportFormatError that says where."""
    try:
        return base64.b64decode(value, validate=False)
    except (binascii.Error, ValueError) as e:
        raise ImportFormatError(path, where, f"body is not valid base64: {e}") from e


def make_interaction(
    request: Request, response: Response, *, source: Path, source_format: str, recorded_at: str = ""
) -> Interaction:
    return Interaction(
        request=request,
        response=response,
        session=f"import:{source.name}",
        recorded_at=recorded_at,
        source=str(source),
        source_format=source_format,
    )


def response_from(
    status: int,
    headers: Headers,
    body: bytes,
    *,
    encoded: bool,
    reason: str = "",
    http_version: str = "HTTP/1.1",
) -> Response:
    """A Response from a format's body, whether the format kept it `encoded` (as on the wire,
    e.g. gzip bytes) or decoded (as HAR and most JSON formats do, keeping the header).

    Either way the model holds the decoded body and the coding; wire bytes only when known.
    """
    content_encoding = header(headers, "content-encoding")
    if encoded:
        decoded, coding = encoding.decode_body(body, content_encoding)
        return Response(
            status, reason, headers, decoded, coding, body if coding else None, http_version
        )
    coding = encoding.normalize_coding(content_encoding)
    if coding is not None and coding not in encoding.SUPPORTED:
        coding = None  # an unknown coding cannot be re-encoded: send the body as it is
    return Response(status, reason, headers, body, coding, None, http_version)


def with_body(request: Request, body: bytes, *, encoded: bool) -> Request:
    """`request` carrying `body`, decoded per Content-Encoding when the format kept it encoded."""
    if encoded:
        decoded, coding = encoding.decode_body(body, header(request.headers, "content-encoding"))
        return replace(request, body=decoded, encoding=coding)
    return replace(request, body=body)
