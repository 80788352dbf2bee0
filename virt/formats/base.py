"""The Reader and Writer protocols every format implements, and the errors they raise.

What every reader (virt/formats/<name>.py, or a package virt/formats/<name>/ when reading and
writing a format are modules of their own; listed in virt/formats/registry.py by its READER,
or READERS for several, plus WRITER when virt can export the format) promises:

- It streams: interactions are yielded as they are read, in the order they were recorded, so
  repeated identical requests replay their responses in sequence.
- sniff(path) is cheap (the name and base.head(path)), never raises, and does not claim other
  formats' files: many formats are YAML or JSON.
- Bodies are stored decoded. A body the format kept as it was on the wire (gzip bytes, base64
  of the wire bytes) goes through response_from(..., encoded=True), which keeps the exact wire
  bytes too; a body kept decoded while headers still name a Content-Encoding (HAR, most JSON
  formats) uses encoded=False, and replay re-encodes it deterministically. Binary bodies stay
  bytes, byte for byte; text is UTF-8 unless a charset says otherwise.
- Every header is kept, in order, with repeats; the reason phrase where the format has one;
  recorded_at as ISO 8601 UTC ("2024-01-02T03:04:05.000Z") where the format records a time.
- Malformed input of any kind raises ImportFormatError naming the file, the entry that broke
  ("log.entries[12].response") and what was expected, and nothing else escapes a reader.
- An entry passed over on purpose (no response, not HTTP) is yielded as Skipped(where, why),
  never dropped silently: import reports count and explain them.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, ClassVar, Protocol, TypeVar
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

_T = TypeVar("_T")


def expect(
    value: Any, kind: type[_T], path: Path, where: str, what: str, *, nonempty: bool = False
) -> _T:
    """`value` when it is a `kind` (and, with `nonempty`, not empty); else an ImportFormatError
    naming the file, the entry, what was expected and what was found instead.

    A bool never passes for a number, though Python counts it as an int: `code: true` in a
    recording is a mistake, not status 1.
    """
    if (
        isinstance(value, kind)
        and (kind is bool or not isinstance(value, bool))
        and (value or not nonempty)
    ):
        return value
    raise ImportFormatError(path, where, f"expected {what}, got {describe(value)}")


def describe(value: Any) -> str:
    """What a parsed JSON or YAML value is, in words a recording's author knows; never the text
    itself, which may be long or a secret."""
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):  # a huge int has no str() past 4300 digits
        return str(value) if -(10**15) < value < 10**15 else "a number"
    if isinstance(value, str):
        return "text" if value else "empty text"
    if isinstance(value, bytes):
        return "binary data"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list):
        return "a list" if value else "an empty list"
    return type(value).__name__


def head(path: Path, size: int = 4096) -> bytes:
    """The first `size` bytes of `path`, or b"" when it cannot be read (sniffing never raises)."""
    try:
        with path.open("rb") as f:
            return f.read(size)
    except OSError:
        return b""


def load_json(path: Path) -> Any:
    """The JSON document in `path` (UTF-8, a BOM allowed); ImportFormatError says what is wrong."""
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except OSError as e:
        raise ImportFormatError(path, "", f"cannot read: {e.strerror or e}") from e
    except UnicodeDecodeError as e:
        raise ImportFormatError(path, "", f"not UTF-8 text: {e}") from e
    except ValueError as e:  # JSONDecodeError, or an integer too long to convert
        raise ImportFormatError(path, "", f"not valid JSON: {e}") from e
    except RecursionError as e:
        raise ImportFormatError(path, "", "JSON nested too deeply") from e


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
    if not body:
        coding = None  # nothing to encode: an empty 304 must not replay as an empty gzip stream
    if coding is not None and coding not in encoding.SUPPORTED:
        coding = None  # an unknown coding cannot be re-encoded: send the body as it is
    return Response(status, reason, headers, body, coding, None, http_version)


def with_body(request: Request, body: bytes, *, encoded: bool) -> Request:
    """`request` carrying `body`, decoded per Content-Encoding when the format kept it encoded."""
    if encoded:
        decoded, coding = encoding.decode_body(body, header(request.headers, "content-encoding"))
        return replace(request, body=decoded, encoding=coding)
    return replace(request, body=body)


def in_coding(body: bytes, headers: Headers) -> bool:
    """Whether `body` is still in the content coding its headers name: it decodes in it.

    For formats that do not say whether they kept a body as sent or decoded.
    """
    coding = encoding.normalize_coding(header(headers, "content-encoding"))
    if coding is None or not body:
        return False
    try:
        encoding.decode(body, coding)
    except encoding.CodingError:
        return False
    return True


def oneline(e: BaseException) -> str:
    """An exception's message on one line, for an ImportFormatError's `why`."""
    return " ".join(str(e).split()) or type(e).__name__
