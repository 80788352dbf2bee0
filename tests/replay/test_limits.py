"""The direct door's bounds: body size (as sent and decoded) and odd Host headers, in-process."""

from __future__ import annotations

import asyncio
import gzip
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from virt.encoding import encode
from virt.match.engine import Engine
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.replay.app import ReplayApp
from virt.replay.routing import Router, split_host
from virt.store import Store

API = ("https", "api.example.com", 443)
LIMIT = 64 * 1024


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    request = Request("POST", *API, "/upload", body=b'{"a": 1}')
    s.insert(Interaction(request, Response(201, body=b"stored")), exact_key(request))
    yield s
    s.close()


def call(
    store: Store,
    headers: list[tuple[bytes, bytes]],
    chunks: list[bytes],
    max_body: int = LIMIT,
) -> tuple[int, bytes, int]:
    """(status, body, bytes the app read) for one request straight into ReplayApp."""
    engine = Engine(store)
    app = ReplayApp(engine, Router([], engine.origins), max_body=max_body)
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "scheme": "http",
        "path": "/upload",
        "raw_path": b"/upload",
        "query_string": b"",
        "headers": headers,
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 5000),
        "http_version": "1.1",
    }
    pending = list(chunks)
    read = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal read
        chunk = pending.pop(0) if pending else b""
        read += len(chunk)
        return {"type": "http.request", "body": chunk, "more_body": bool(pending)}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return sent[0]["status"], body, read


def test_a_body_declared_over_the_limit_is_refused_before_it_is_read(store: Store) -> None:
    status, body, read = call(
        store, [(b"content-length", str(LIMIT + 1).encode())], [b"x" * (LIMIT + 1)]
    )
    assert status == 413
    assert read == 0
    assert b"64 KiB" in body and b"--max-body" in body and b"VIRT_MAX_BODY" in body


def test_a_streamed_body_is_refused_as_soon_as_it_passes_the_limit(store: Store) -> None:
    chunks = [b"x" * 16384] * 40  # 640 KiB, no Content-Length
    status, body, read = call(store, [], chunks)
    assert status == 413
    assert read <= LIMIT + 16384
    assert b"--max-body" in body


def test_a_body_at_the_limit_is_answered(store: Store) -> None:
    status, _, _ = call(store, [(b"content-length", str(LIMIT).encode())], [b"x" * LIMIT])
    assert status == 599  # no recording: a miss, not a refusal


def test_a_body_that_inflates_past_the_limit_is_refused(store: Store) -> None:
    bomb = gzip.compress(bytes(LIMIT * 4))
    assert len(bomb) < LIMIT
    headers = [(b"content-encoding", b"gzip"), (b"content-length", str(len(bomb)).encode())]
    status, body, _ = call(store, headers, [bomb])
    assert status == 413
    assert b"decodes to more than 64 KiB" in body


def test_a_body_in_stacked_codings_is_decoded_and_matched(store: Store) -> None:
    wire = encode(b'{"a": 1}', "gzip, gzip")
    headers = [
        (b"host", b"api.example.com"),
        (b"content-encoding", b"gzip, gzip"),
        (b"content-length", str(len(wire)).encode()),
    ]
    status, body, _ = call(store, headers, [wire])
    assert (status, body) == (201, b"stored")


def test_a_large_coded_body_is_decoded_off_the_loop_and_matched(store: Store) -> None:
    payload = b'{"blob": "' + b"ab" * (200 * 1024) + b'"}'
    request = Request("POST", *API, "/upload", body=payload)
    store.insert(Interaction(request, Response(201, body=b"big")), exact_key(request))
    wire = zlib.compress(payload)
    headers = [(b"content-encoding", b"deflate"), (b"content-length", str(len(wire)).encode())]
    assert call(store, headers, [wire], max_body=1024 * 1024)[:2] == (201, b"big")


@pytest.mark.parametrize(
    "host",
    [
        "api.example.com:\u00b2".encode("utf-8"),  # "²" is a digit to str.isdigit
        "api.example.com:\u0663".encode("utf-8"),  # Arabic-Indic three
        b"api.example.com:" + b"9" * 5000,  # past int()'s digit limit
        b"api.example.com:65536",
        b"api.example.com:-1",
        b"[::1]x",
    ],
    ids=[
        "superscript-two",
        "arabic-digit",
        "5000-digits",
        "port-too-high",
        "negative",
        "ipv6-junk",
    ],
)
def test_a_host_header_with_a_bad_port_is_answered_400_not_500(store: Store, host: bytes) -> None:
    status, body, _ = call(store, [(b"host", host)], [b'{"a": 1}'])
    assert status == 400
    assert b"Host" in body
    assert len(body) < 200  # the 5,000 digits are not echoed back


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("api.example.com", ("api.example.com", None)),
        ("API.example.com:8443", ("api.example.com", 8443)),
        ("api.example.com:", ("api.example.com", None)),
        ("[::1]:8000", ("::1", 8000)),
        ("[::1]", ("::1", None)),
    ],
)
def test_split_host_reads_names_and_ports(value: str, expected: tuple[str, int | None]) -> None:
    assert split_host(value) == expected


def test_the_router_ignores_a_bad_port_rather_than_raising() -> None:
    from virt.store import Origin

    origin = Origin("https", "api.example.com", 443)
    assert Router([], lambda: [origin]).resolve("/x", "api.example.com:\u00b2") == (origin, "/x")
