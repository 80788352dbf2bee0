"""The proxy door as HTTP_PROXY/HTTPS_PROXY clients use it: absolute-form requests and CONNECT
tunnels with TLS from virt's CA, kept alive, answered from the recordings."""

from __future__ import annotations

import http.client
import socket
import ssl
from pathlib import Path

import httpx
import pytest

from virt.mitm.master import CA
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import Store

USER = Request("GET", "https", "api.example.com", 443, "/users/1")
PLAIN = Request("GET", "http", "plain.example.com", 80, "/status")


@pytest.fixture
def proxy_port(virt, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    db = tmp_path / "door.db"
    store = Store.open(db)
    for request, body in ((USER, b'{"id":1}'), (PLAIN, b"ok")):
        headers = (("Content-Length", str(len(body))),)
        store.insert(
            Interaction(request, Response(200, headers=headers, body=body)), exact_key(request)
        )
    store.close()
    _, _, port = virt.serve(db)
    return int(port)


def _tunnel(port: int, target: str) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert sock.recv(4096).startswith(b"HTTP/1.1 200")
    return sock


def _get(tls: ssl.SSLSocket, path: str, host: str) -> bytes:
    tls.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n\r\n".encode())
    data = b""
    while b"\r\n\r\n" not in data:
        data += tls.recv(65536)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(
            v
            for k, v in (h.split(b": ", 1) for h in head.split(b"\r\n")[1:])
            if k.lower() == b"content-length"
        )
    )
    while len(body) < length:
        body += tls.recv(65536)
    return head.split(b"\r\n")[0] + b" " + body


def test_https_through_connect_speaks_http11_with_a_certificate_for_the_host(
    proxy_port: int, virt_ca: CA
) -> None:
    context = ssl.create_default_context(cafile=str(virt_ca.cert))
    context.set_alpn_protocols(["h2", "http/1.1"])
    with (
        _tunnel(proxy_port, "api.example.com:443") as raw,
        context.wrap_socket(raw, server_hostname="api.example.com") as tls,
    ):
        assert tls.selected_alpn_protocol() == "http/1.1"
        # kept alive: two requests on one tunnel
        assert _get(tls, "/users/1", "api.example.com") == b'HTTP/1.1 200 OK {"id":1}'
        assert _get(tls, "/users/1", "api.example.com") == b'HTTP/1.1 200 OK {"id":1}'


def test_the_certificate_follows_the_sni_when_the_tunnel_names_an_address(
    proxy_port: int, virt_ca: CA
) -> None:
    context = ssl.create_default_context(cafile=str(virt_ca.cert))
    with (
        _tunnel(proxy_port, "203.0.113.7:443") as raw,
        context.wrap_socket(raw, server_hostname="other.example.org") as tls,
    ):
        names = [v for k, v in tls.getpeercert()["subjectAltName"] if k == "DNS"]
        assert names == ["other.example.org"]


def test_absolute_form_requests_are_answered_on_a_kept_alive_connection(proxy_port: int) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", proxy_port, timeout=10)
    for _ in range(2):
        conn.request("GET", "http://plain.example.com/status")
        r = conn.getresponse()
        assert (r.status, r.read(), r.getheader("X-Virt-Match")) == (200, b"ok", "exact")
    conn.close()


def test_real_clients_reach_recordings_through_the_proxy_door(proxy_port: int, virt_ca: CA) -> None:
    proxy = f"http://127.0.0.1:{proxy_port}"
    with httpx.Client(
        proxy=proxy, verify=ssl.create_default_context(cafile=str(virt_ca.cert))
    ) as c:
        assert c.get("https://api.example.com/users/1").json() == {"id": 1}
        assert c.get("http://plain.example.com/status").text == "ok"
        assert c.get("https://api.example.com/accounts/2").status_code == 599
