"""Reply: a made-up answer as it is sent, and the recorded headers that go with a new body.

The fallback stage builds its answers from recordings; the recorded headers come along, except
those that describe the recorded bytes (their length, encoding, digest, validators), and the
request ids, which a real API makes anew on every call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from virt.model import Request, header
from virt.schema import fill, paging
from virt.schema.book import Recorded

DROPPED = frozenset(
    {
        "content-length",
        "content-encoding",
        "transfer-encoding",
        "etag",
        "last-modified",
        "content-md5",
    }
)
"""Recorded headers that describe the recorded body's bytes, not the new one's."""
REQUEST_IDS = ("request-id", "requestid", "trace-id", "correlation-id", "x-amz-id", "cf-ray")
"""Parts of the names of headers that carry a new value on every call."""


@dataclass(frozen=True, slots=True)
class Answer:
    """A fallback answer, ready to send."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    source: str
    """template | openapi | schema"""
    template: int | None
    """The recording the answer was built from (X-Virt-Recording)."""
    explain: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Refusal:
    """The route is known, and still no answer can be made: the miss says why."""

    why: str
    route: str


def headers_for(
    recorded: Recorded | None, body: bytes, seed: bytes = b"", sent: Request | None = None
) -> tuple[tuple[str, str], ...]:
    """The recorded answer's headers for a new body: those describing the old bytes dropped,
    Content-Length set, a header that repeated the recorded request's (an Idempotency-Key, a
    correlation id) repeating `sent`'s, other request ids made anew from the seed."""
    out: list[tuple[str, str]] = []
    if recorded is not None:
        asked = recorded.interaction.request.headers
        for name, value in recorded.interaction.response.headers:
            lowered = name.lower()
            if lowered in DROPPED:
                continue
            echoed = header(asked, name) == value and sent is not None
            new = header(sent.headers, name) if sent is not None and echoed else None
            if new is not None:
                value = new
            elif any(part in lowered for part in REQUEST_IDS):
                value = str(fill.like(value, seed + lowered.encode()))
            out.append((name, value))
    if not any(n.lower() == "content-type" for n, _ in out) and body:
        out.append(("Content-Type", "application/json"))
    out.append(("Content-Length", str(len(body))))
    return tuple(out)


def linked(headers: tuple[tuple[str, str], ...], page: paging.Page) -> tuple[tuple[str, str], ...]:
    """`headers` with their Link headers made true of `page` (dropped when no link is left)."""
    out = []
    for name, value in headers:
        if name.lower() == "link":
            rewritten = page.link(value)
            if rewritten is None:
                continue
            value = rewritten
        out.append((name, value))
    return tuple(out)
