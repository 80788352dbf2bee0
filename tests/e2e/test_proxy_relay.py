"""The proxy door never opens a connection to a real host, whatever a client sends after CONNECT."""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import Tripwire, free_port
from virt.mitm.master import CA
from virt.store import Store

SSH_BANNER = b"SSH-2.0-OpenSSH_9.6\r\n"
REDIS_PING = b"*1\r\n$4\r\nPING\r\n"
# a Postgres StartupMessage: length, protocol 3.0, user=postgres
_PG_PARAMS = b"user\x00postgres\x00\x00"
POSTGRES_STARTUP = struct.pack("!ii", 8 + len(_PG_PARAMS), 196608) + _PG_PARAMS


@pytest.fixture
def proxy_port(virt, tmp_path: Path) -> int:  # type: ignore[no-untyped-def]
    db = tmp_path / "empty.db"
    Store.open(db).close()
    _, _, proxy_port = virt.serve(db)
    return int(proxy_port)


@pytest.fixture
def tripwire() -> Iterator[Tripwire]:
    wire = Tripwire(free_port())
    yield wire
    wire.close()


def _tripwire_port(tripwire: Tripwire) -> int:
    return int(tripwire.sock.getsockname()[1])


def _connect(proxy_port: int, target: str) -> socket.socket:
    """A socket through the proxy door's CONNECT tunnel to `target`."""
    sock = socket.create_connection(("127.0.0.1", proxy_port), timeout=10)
    sock.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk, f"the proxy closed the tunnel before answering CONNECT: {head!r}"
        head += chunk
    assert head.startswith(b"HTTP/1.1 200"), head
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """Everything the proxy sends until it closes the connection (or 10 s pass)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (TimeoutError, ConnectionResetError):
        pass
    return data


@pytest.mark.parametrize(
    "first_bytes",
    [SSH_BANNER, REDIS_PING, POSTGRES_STARTUP],
    ids=["ssh-banner", "redis-ping", "postgres-startup"],
)
def test_raw_tcp_after_connect_is_refused_and_never_relayed(
    proxy_port: int, tripwire: Tripwire, first_bytes: bytes
) -> None:
    with _connect(proxy_port, f"127.0.0.1:{_tripwire_port(tripwire)}") as sock:
        sock.sendall(first_bytes)
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert b"replays HTTP only" in answer
    assert tripwire.connections == 0


def test_tls_for_an_unknown_host_is_answered_locally_with_a_miss(
    proxy_port: int, tripwire: Tripwire, virt_ca: CA
) -> None:
    context = ssl.create_default_context(cafile=str(virt_ca.cert))
    target = f"127.0.0.1:{_tripwire_port(tripwire)}"
    with (
        _connect(proxy_port, target) as raw,
        context.wrap_socket(raw, server_hostname="unknown.invalid") as tls,
    ):
        tls.sendall(b"GET / HTTP/1.1\r\nHost: unknown.invalid\r\nConnection: close\r\n\r\n")
        answer = _read_all(tls)
    assert answer.startswith(b"HTTP/1.1 599"), answer[:200]
    assert tripwire.connections == 0


def test_non_http_inside_tls_is_refused_and_never_relayed(
    proxy_port: int, tripwire: Tripwire, virt_ca: CA
) -> None:
    context = ssl.create_default_context(cafile=str(virt_ca.cert))
    context.set_alpn_protocols(["imap"])
    target = f"127.0.0.1:{_tripwire_port(tripwire)}"
    with (
        _connect(proxy_port, target) as raw,
        context.wrap_socket(raw, server_hostname="mail.invalid") as tls,
    ):
        tls.sendall(b"* OK IMAP4rev1 ready\r\n")
        answer = _read_all(tls)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert tripwire.connections == 0


def test_a_websocket_upgrade_is_answered_locally_and_never_relayed(
    proxy_port: int, tripwire: Tripwire
) -> None:
    target = f"127.0.0.1:{_tripwire_port(tripwire)}"
    with _connect(proxy_port, target) as sock:
        sock.sendall(
            f"GET /socket HTTP/1.1\r\nHost: {target}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 599"), answer[:200]
    assert tripwire.connections == 0


def test_plain_requests_through_the_proxy_door_never_connect(
    proxy_port: int, tripwire: Tripwire
) -> None:
    url = f"http://127.0.0.1:{_tripwire_port(tripwire)}/anything"
    r = httpx.post(url, content=b"x" * 1000, proxy=f"http://127.0.0.1:{proxy_port}")
    assert r.status_code == 599
    assert tripwire.connections == 0


def test_non_http_sent_straight_to_the_proxy_door_is_refused(proxy_port: int) -> None:
    with socket.create_connection(("127.0.0.1", proxy_port), timeout=10) as sock:
        sock.sendall(SSH_BANNER)
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 400"), answer


class _Listener:
    """A TCP server on a free port that keeps every byte it receives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.sock.getsockname()[1])
        self.received = b""
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                conn.settimeout(5)
                try:
                    while chunk := conn.recv(65536):
                        self.received += chunk
                except OSError:
                    pass

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.sock.shutdown(socket.SHUT_RDWR)
        self.sock.close()


@pytest.mark.parametrize(
    "first_bytes", [SSH_BANNER, REDIS_PING, POSTGRES_STARTUP], ids=["ssh", "redis", "postgres"]
)
def test_virt_record_refuses_raw_tcp_it_could_not_record(  # type: ignore[no-untyped-def]
    virt, tmp_path: Path, first_bytes: bytes
) -> None:
    """Delivered means committed: bytes the recorder cannot record are not relayed either."""
    listener = _Listener()
    try:
        db = tmp_path / "rec.db"
        proc, port = virt.record(db)
        with _connect(port, f"127.0.0.1:{listener.port}") as sock:
            sock.sendall(first_bytes)
            answer = _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 400"), answer
        assert b"records HTTP only" in answer
        assert listener.received == b""
        assert "refused a non-HTTP connection" in proc.output()
    finally:
        listener.close()
