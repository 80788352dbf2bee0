"""A recording made once per module: the bundled upstream, recorded through `virt record`."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from virt.model import HOP_BY_HOP

NEW_USER = b'{"name":"Edsger","tags":["a","b"]}'
RENAME = b'{"name":"Ada L."}'
JSON = {"Content-Type": "application/json"}

CALLS: list[tuple[str, str, dict[str, Any]]] = [
    ("GET", "/users", {}),
    ("GET", "/users?page=2&sort=name", {}),
    ("GET", "/users/1", {}),
    ("POST", "/users", {"content": NEW_USER, "headers": JSON}),
    ("PUT", "/users/1", {"content": RENAME, "headers": JSON}),
    ("DELETE", "/users/2", {}),
    ("POST", "/login", {"data": {"username": "ada", "password": "hunter2"}}),
    ("GET", "/logo.png", {}),
    ("GET", "/report", {"headers": {"Accept-Encoding": "gzip"}}),
    ("GET", "/export", {}),
    ("GET", "/events", {"headers": {"Accept": "text/event-stream"}}),
    ("GET", "/users/404", {}),
]
"""What the client does while recording: every method, JSON, form, binary, gzip, chunked, SSE.

JSON bodies are fixed bytes: exact matching compares bodies byte for byte, and each client
library spells JSON its own way.
"""

POLLS = 3
"""POST /jobs, then GET /jobs/job-1 this many times: pending, pending, done."""


@dataclass
class Seen:
    """A response as a client saw it: status, end-to-end headers, raw (still encoded) body."""

    status: int
    headers: list[tuple[str, str]]
    raw: bytes
    content: bytes = b""


@dataclass
class Recording:
    db: Path
    origin: str
    seen: dict[str, Seen] = field(default_factory=dict)
    polls: list[str] = field(default_factory=list)


def end_to_end(headers: Any) -> list[tuple[str, str]]:
    """Headers minus hop-by-hop fields and virt's own, lower-cased, in order."""
    pairs = headers.multi_items() if hasattr(headers, "multi_items") else list(headers)
    return [
        (k.lower(), v)
        for k, v in pairs
        if k.lower() not in HOP_BY_HOP and not k.lower().startswith("x-virt-")
    ]


def call(client: httpx.Client, origin: str, method: str, target: str, kw: dict[str, Any]) -> Seen:
    with client.stream(method, origin + target, **kw) as r:
        raw = b"".join(r.iter_raw())
        seen = Seen(r.status_code, end_to_end(r.headers), raw)
    decoder = httpx.Response(r.status_code, headers=r.headers, content=raw)
    seen.content = decoder.content
    return seen


def key(method: str, target: str) -> str:
    return f"{method} {target}"
