"""The proxy door's guard: which first bytes are plainly not HTTP, and how it reads a target."""

from __future__ import annotations

import pytest

from virt.mitm.httponly import not_http
from virt.replay.protocol import absolute_target
from virt.replay.proxydoor import REFUSAL, _decides


@pytest.mark.parametrize(
    "data",
    [
        b"GET / HTTP/1.1\r\n",
        b"POST /x HTTP/1.1\r\nHost: a\r\n",
        b"CONNECT api.example.com:443 HTTP/1.1\r\n",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
        b"GE",  # too little to tell: wait for more
        b"\x16\x03\x01\x02\x00\x01",  # a TLS handshake record
        b"",
    ],
)
def test_http_and_tls_starts_are_let_through(data: bytes) -> None:
    assert not not_http(data)


@pytest.mark.parametrize(
    "data",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"*1\r\n$4\r\nPING\r\n",
        b"\x00\x00\x00\x08\x04\xd2\x16\x2f",
        b"QUIT\r\n",
        b"PING\r\n",
    ],
)
def test_other_protocols_are_recognised(data: bytes) -> None:
    assert not_http(data)


def test_the_refusal_is_a_complete_http_response() -> None:
    head, _, body = REFUSAL.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 400 ")
    assert f"Content-Length: {len(body)}".encode() in head


@pytest.mark.parametrize(
    ("data", "decided"),
    [
        (b"", False),
        (b"CONN", False),  # it may become CONNECT: wait
        (b"CONNECT ", True),
        (b"GET /", True),
        (b"GE", False),
        (b"\x16\x03\x01", True),  # TLS
        (b"SSH-2.0", True),
    ],
)
def test_a_connection_is_classified_only_once_its_first_bytes_decide(
    data: bytes, decided: bool
) -> None:
    assert _decides(data) is decided


@pytest.mark.parametrize(
    ("url", "target"),
    [
        (b"http://api.example.com/x?y", ("http", "api.example.com", 80)),
        (b"HTTPS://API.example.com", ("https", "api.example.com", 443)),
        (b"http://127.0.0.1:8080?q", ("http", "127.0.0.1", 8080)),
        (b"http://[::1]:81/", ("http", "::1", 81)),
        (b"http://host:99999/", None),
        (b"ftp://host/", None),
        (b"/origin/form", None),
    ],
)
def test_an_absolute_form_url_names_the_target(
    url: bytes, target: tuple[str, str, int] | None
) -> None:
    assert absolute_target(url) == target
