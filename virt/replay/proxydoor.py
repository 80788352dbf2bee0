"""The proxy door: HTTP_PROXY/HTTPS_PROXY clients replayed without a proxy stack per request.

Replay never connects upstream, so the proxy door only has to understand what a client sends to
a proxy: absolute-form requests (`GET http://api.example.com/x HTTP/1.1`) and CONNECT tunnels,
inside which it terminates TLS with a certificate from virt's CA. Once a connection is known to
carry HTTP, it is handed to the same uvicorn protocol (httptools, on uvloop) as the direct door,
with the target the client asked for, and the ReplayApp answers it. Anything that is not HTTP
is refused with a 400 and never relayed (mitmproxy stays the recorder).

A connection is classified by peeking at its first bytes (MSG_PEEK), so nothing is consumed
that the HTTP parser or the TLS handshake still needs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

from mitmproxy.net.tls import starts_like_tls_record
from uvicorn.config import Config
from uvicorn.server import ServerState

from virt.mitm.certs import LeafCertificates
from virt.mitm.httponly import not_http, refusal_bytes
from virt.mitm.tasks import spawn
from virt.mitm.trust import RejectionLog
from virt.replay.protocol import ReplayHttp
from virt.replay.routing import split_host

log = logging.getLogger("virt.replay")


REFUSAL = refusal_bytes(
    "virt's proxy door replays HTTP only; it never opens a tunnel or a raw connection"
)
"""What a client that sends something other than HTTP through the proxy door reads."""

MAX_HEAD = 64 * 1024
"""A CONNECT request head longer than this is refused."""
FIRST_BYTES_S = 30.0
"""How long a new connection (or a new tunnel) may stay silent before it is closed."""
_RECHECK_S = 0.005
"""Pause between two peeks when the bytes so far cannot decide (a client sending slowly)."""

_CONNECT = b"CONNECT "


class ProxyDoor:
    """Accepts proxy clients on a listening socket and serves them with `app`."""

    def __init__(
        self, app: Callable[..., Any], certificates: LeafCertificates, **uvicorn_settings: Any
    ) -> None:
        self.config = Config(
            app,
            http="httptools",
            ws="none",
            lifespan="off",
            log_config=None,
            access_log=False,
            server_header=False,
            date_header=False,
            **uvicorn_settings,
        )
        self.config.load()
        self.state = ServerState()
        self.certificates = certificates
        self._stopping = asyncio.Event()
        self._rejections = RejectionLog("proxy door")
        self._sniffing: set[asyncio.Task[None]] = set()

    async def serve(self, sock: socket.socket) -> None:
        """Accept connections on `sock` until `shutdown`, then close those open and return."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        accepting = spawn(self._accept(loop, sock), name="proxy door accept")
        stopping = spawn(self._stopping.wait(), name="proxy door stop")
        await asyncio.wait([accepting, stopping], return_when=asyncio.FIRST_COMPLETED)
        accepting.cancel()
        stopping.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await accepting
        if not accepting.cancelled() and accepting.exception() is not None:
            raise accepting.exception()  # type: ignore[misc]
        await self._close_all()

    def shutdown(self) -> None:
        self._stopping.set()

    async def _accept(self, loop: asyncio.AbstractEventLoop, listener: socket.socket) -> None:
        while True:
            try:
                conn, _ = await loop.sock_accept(listener)
            except OSError as e:  # too many open files, say: keep the door open
                log.warning("proxy door: cannot accept a connection: %s", e)
                await asyncio.sleep(0.1)
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            task = spawn(self._sniff(loop, conn), name="proxy door connection")
            self._sniffing.add(task)
            task.add_done_callback(self._sniffing.discard)

    async def _sniff(self, loop: asyncio.AbstractEventLoop, conn: socket.socket) -> None:
        """Decide what `conn` carries and hand it to HTTP, TLS, or a refusal."""
        handed = False
        try:
            first = await _peek(loop, conn, _decides)
            if starts_like_tls_record(first):
                # TLS straight to the proxy: no CONNECT said which host it is meant for
                log.warning("proxy door: refused TLS sent without CONNECT")
                return
            if first.startswith(_CONNECT):
                handed = await self._tunnel(loop, conn)
                return
            if not_http(first):
                await _refuse(loop, conn, "a non-HTTP connection")
                return
            await self._hand(loop, conn, None, None)
            handed = True
        except _Refused as e:
            await _refuse(loop, conn, str(e))
        except (TimeoutError, OSError):
            pass  # gone, silent, or a failed TLS handshake: nothing to answer
        finally:
            if not handed:
                conn.close()

    async def _tunnel(self, loop: asyncio.AbstractEventLoop, conn: socket.socket) -> bool:
        """Answer CONNECT locally, then serve what comes through the tunnel."""
        head = await _peek(loop, conn, _head_complete)
        end = head.find(b"\r\n\r\n")
        if end == -1:
            raise _Refused("a CONNECT request head over 64 KiB")
        conn.recv(end + 4)  # consume exactly the CONNECT request; the tunnel starts after it
        line = head[: head.find(b"\r\n")].decode("latin-1")
        parts = line.split(" ")
        try:
            if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
                raise ValueError(f"not a CONNECT request line: {line[:100]!r}")
            host, port = split_host(parts[1])
            if port is None:
                raise ValueError(f"CONNECT {parts[1][:100]!r} names no port")
        except ValueError as e:
            log.warning("proxy door: refused %s", e)
            await loop.sock_sendall(conn, refusal_bytes(f"virt: {e}"))
            return False
        await loop.sock_sendall(conn, b"HTTP/1.1 200 Connection established\r\n\r\n")
        inside = await _peek(loop, conn, _decides)
        if starts_like_tls_record(inside):
            agent = _user_agent(head[:end])

            def distrust(e: BaseException | None) -> None:
                if e is None:
                    self._rejections.silent(host, agent)
                else:
                    self._rejections.failed(host, agent, str(e) or repr(e))

            tls = self.certificates.context(host)
            try:
                await self._hand(loop, conn, ("https", host, port), tls, distrust)
            except (ssl.SSLError, ConnectionError) as e:
                distrust(e)
                raise
            return True
        if not_http(inside):
            raise _Refused(f"a non-HTTP tunnel to {host}:{port}")
        await self._hand(loop, conn, ("http", host, port), None)
        return True

    async def _hand(
        self,
        loop: asyncio.AbstractEventLoop,
        conn: socket.socket,
        target: tuple[str, str, int] | None,
        tls: Any,
        distrust: Callable[[BaseException | None], None] | None = None,
    ) -> None:
        config, state = self.config, self.state

        def protocol() -> ReplayHttp:
            made = (
                ReplayHttp(config, state, {})
                if distrust is None
                else _Watched(distrust, config, state)
            )
            made.target = target
            return made

        await loop.connect_accepted_socket(
            protocol, conn, ssl=tls, ssl_handshake_timeout=FIRST_BYTES_S if tls else None
        )

    async def _close_all(self) -> None:
        for task in list(self._sniffing):
            task.cancel()
        for connection in list(self.state.connections):
            connection.shutdown()
        deadline = time.monotonic() + 10
        while self.state.connections and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for connection in list(self.state.connections):
            connection.transport.abort()


class _Watched(ReplayHttp):
    """ReplayHttp in a TLS tunnel, telling `distrust` when the client leaves before its first
    request: git and curl built on GnuTLS complete the handshake, check the certificate, and
    hang up (None); others send an alert after it (the error)."""

    def __init__(
        self,
        distrust: Callable[[BaseException | None], None],
        config: Config,
        state: ServerState,
    ) -> None:
        super().__init__(config, state, {})
        self._distrust: Callable[[BaseException | None], None] | None = distrust

    def data_received(self, data: bytes) -> None:
        self._distrust = None
        super().data_received(data)

    def eof_received(self) -> None:
        self._tell(None)
        super().eof_received()

    def connection_lost(self, exc: Exception | None) -> None:
        if exc is not None:  # None: a clean close, which the client's hang-up already told
            self._tell(exc)
        super().connection_lost(exc)

    def shutdown(self) -> None:
        self._distrust = None  # virt is closing: however the client then goes, it trusted us
        super().shutdown()

    def timeout_keep_alive_handler(self) -> None:
        self._distrust = None
        super().timeout_keep_alive_handler()

    def _tell(self, exc: BaseException | None) -> None:
        if self._distrust is not None:
            distrust, self._distrust = self._distrust, None
            distrust(exc)


class _Refused(Exception):
    """The connection carries something the proxy door does not replay; the message says what."""


async def _refuse(loop: asyncio.AbstractEventLoop, conn: socket.socket, what: str) -> None:
    """Send REFUSAL and close gently: what the client sent is read first, so that closing
    does not reset the connection before the client has read why."""
    log.warning("proxy door: refused %s", what)
    with contextlib.suppress(OSError, TimeoutError):
        conn.recv(MAX_HEAD)
        await loop.sock_sendall(conn, REFUSAL)
        conn.shutdown(socket.SHUT_WR)
        deadline = loop.time() + 1
        while loop.time() < deadline:
            await _readable(loop, conn, deadline - loop.time())
            if not conn.recv(MAX_HEAD):
                break


def _decides(data: bytes) -> bool:
    """Whether the first bytes are enough to tell TLS, CONNECT, other HTTP and the rest apart."""
    if not data:
        return False
    if starts_like_tls_record(data) or not_http(data):
        return True
    if len(data) < len(_CONNECT):
        return not _CONNECT.startswith(data.upper()) and b" " in data
    return True


def _user_agent(head: bytes) -> str | None:
    """The User-Agent of a CONNECT request head, which names the client that sent it."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"user-agent":
            return value.strip().decode("latin-1")
    return None


def _head_complete(data: bytes) -> bool:
    return b"\r\n\r\n" in data or len(data) >= MAX_HEAD


async def _peek(
    loop: asyncio.AbstractEventLoop, conn: socket.socket, enough: Callable[[bytes], bool]
) -> bytes:
    """The bytes waiting on `conn`, left there, once `enough` says they are (or the client
    stopped sending: then what there is). Raises TimeoutError after FIRST_BYTES_S."""
    deadline = loop.time() + FIRST_BYTES_S
    seen = -1
    while True:
        await _readable(loop, conn, deadline - loop.time())
        data = conn.recv(MAX_HEAD, socket.MSG_PEEK)
        if not data:  # closed before it said anything
            raise OSError("closed")
        if enough(data):
            return data
        if len(data) == seen:  # nothing new: readability would fire at once, so wait a moment
            await asyncio.sleep(_RECHECK_S)
            if loop.time() > deadline:
                raise TimeoutError
        seen = len(data)


async def _readable(loop: asyncio.AbstractEventLoop, conn: socket.socket, timeout: float) -> None:
    if timeout <= 0:
        raise TimeoutError
    ready: asyncio.Future[None] = loop.create_future()
    fd = conn.fileno()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    try:
        await asyncio.wait_for(ready, timeout)
    finally:
        loop.remove_reader(fd)
