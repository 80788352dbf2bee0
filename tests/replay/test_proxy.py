"""The proxy door's guard: which first bytes are plainly not HTTP, and the options it runs with."""

from __future__ import annotations

import pytest

from virt.mitm.httponly import not_http
from virt.replay.proxy import REFUSAL, proxy_options


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


def test_the_options_leave_no_way_to_an_upstream() -> None:
    options = proxy_options(1024)
    assert options["rawtcp"] is False and options["websocket"] is False
    assert options["connection_strategy"] == "lazy" and options["upstream_cert"] is False
    assert options["body_size_limit"] == "1024b"
