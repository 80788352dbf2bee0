"""Request, Response and Interaction: what was on the wire, as immutable values."""

from __future__ import annotations

import enum
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Self

Headers = tuple[tuple[str, str], ...]
"""Header fields in wire order, names in recorded case, values latin-1 decoded (byte exact)."""

DEFAULT_PORTS = {"http": 80, "https": 443}
HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "proxy-authenticate",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)
_SENSITIVE = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key"}
)


def iso_utc(ts: float) -> str:
    """An epoch timestamp as ISO 8601 in UTC with milliseconds: 2026-11-25T12:00:00.000Z."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def url_text(raw: bytes) -> str:
    """A request target's bytes as text: UTF-8, with any byte that is not UTF-8 percent-escaped.

    Both doors and the recorder read paths through this, so a path that is not UTF-8 (rare, but
    legal on the wire) is stored, matched and reported as the same valid text everywhere.
    """
    text = raw.decode("utf-8", "surrogateescape")
    if text.isascii() or not any("\udc80" <= c <= "\udcff" for c in text):
        return text
    return "".join(f"%{ord(c) - 0xDC00:02X}" if "\udc80" <= c <= "\udcff" else c for c in text)


def header(headers: Headers, name: str) -> str | None:
    """The first value of header `name` (case-insensitive), or None."""
    lname = name.lower()
    for k, v in headers:
        if k.lower() == lname:
            return v
    return None


def _safe_headers(headers: Headers) -> Iterator[tuple[str, str]]:
    for k, v in headers:
        yield (k, "[secure]" if k.lower() in _SENSITIVE else v)


@dataclass(frozen=True, slots=True)
class Request:
    """An HTTP request as the client sent it; `body` decoded from `encoding` (Content-Encoding)."""

    method: str
    scheme: str
    host: str
    port: int
    path: str
    query: str = ""
    headers: Headers = ()
    body: bytes = b""
    encoding: str | None = None
    http_version: str = "HTTP/1.1"

    @property
    def origin(self) -> str:
        """scheme://host[:port], the port left out when it is the scheme's default."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        if DEFAULT_PORTS.get(self.scheme) == self.port:
            return f"{self.scheme}://{host}"
        return f"{self.scheme}://{host}:{self.port}"

    @property
    def target(self) -> str:
        """The path with its query string, as in an HTTP/1.1 request line."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @property
    def url(self) -> str:
        return self.origin + self.target

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url} headers={list(_safe_headers(self.headers))}>"


@dataclass(frozen=True, slots=True)
class Response:
    """An HTTP response; `body` decoded, `wire_body` the bytes sent when `encoding` is set."""

    status: int
    reason: str = ""
    headers: Headers = ()
    body: bytes = b""
    encoding: str | None = None
    wire_body: bytes | None = None
    http_version: str = "HTTP/1.1"

    def __repr__(self) -> str:
        return f"<Response {self.status} headers={list(_safe_headers(self.headers))}>"


@dataclass(frozen=True, slots=True)
class Timings:
    """Wall-clock timestamps (seconds since the epoch) of one exchange, as the recorder saw them."""

    request_start: float
    request_end: float | None = None
    response_start: float | None = None
    response_end: float | None = None

    @property
    def duration_ms(self) -> float | None:
        if self.response_end is None:
            return None
        return round((self.response_end - self.request_start) * 1000, 3)


@dataclass(frozen=True, slots=True)
class Keys:
    """The lookup keys of a request: exact (its bytes), canonical (its meaning) and route
    (method, origin and route template: its candidate group for fuzzy matching)."""

    exact: str
    canonical: str | None = None
    route: str | None = None


class PatternKind(enum.StrEnum):
    """How a recording's host or path pattern matches (docs/matching.md, the pattern stage)."""

    GLOB = "glob"
    """`*` any run of characters, `?` one (Hoverfly's glob matcher)."""
    REGEX = "regex"
    """A regular expression the whole value must match (WireMock's urlPattern and
    urlPathPattern)."""
    SEARCH = "search"
    """A regular expression found anywhere in the value (Hoverfly's regex matcher)."""
    TEMPLATE = "template"
    """A path whose `{name}` parts each stand for one path segment (WireMock's
    urlPathTemplate)."""


@dataclass(frozen=True, slots=True)
class Pattern:
    kind: PatternKind
    value: str


@dataclass(frozen=True, slots=True)
class RequestPattern:
    """What a recording made from a stub's matchers (WireMock, Hoverfly) answers besides the
    example in its request: a host and a path (or URL) pattern, each None when the example's
    own value is the one to match."""

    host: Pattern | None = None
    path: Pattern | None = None
    with_query: bool = False
    """`path` matches the path and query together ("/users?page=1"), as WireMock's
    urlPattern does; otherwise the path alone, and the recorded query parameters must be sent."""


@dataclass(frozen=True, slots=True)
class Interaction:
    """One recorded exchange. `id` is None until the store has written it."""

    request: Request
    response: Response
    session: str = "default"
    seq: int = 0
    recorded_at: str = ""
    timings: Timings | None = None
    source: str | None = None
    source_format: str | None = None
    pattern: RequestPattern | None = None
    """Set on a recording made from a stub whose URL matcher is a glob, regex or template."""
    id: int | None = field(default=None, compare=False)

    def with_id(self, id: int, seq: int | None = None) -> Self:
        return replace(self, id=id, seq=self.seq if seq is None else seq)
