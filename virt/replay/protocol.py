"""The HTTP/1.1 protocol both doors run: uvicorn's httptools protocol, one write per reply.

uvicorn writes a response's head and its body with two calls to the transport, so each reply
costs two system calls (and, with Nagle off, two TCP segments). Replies are built whole before
they are sent, so the writes of one loop iteration are gathered and written once, at the end of
that iteration; a streamed response still goes out as it is produced, an iteration later.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from virt.replay.routing import split_host

TARGET = "virt.target"
"""The ASGI scope key of the (scheme, host, port) a proxy client asked for (virt.replay.proxydoor):
its absolute-form URL, else its CONNECT tunnel's."""


class _Gathered:
    """A transport whose writes within one loop iteration reach the socket as one write."""

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not self._pending:
            self._loop.call_soon(self.flush)
        self._pending.append(bytes(data))

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._pending:
            data = b"".join(self._pending) if len(self._pending) > 1 else self._pending[0]
            self._pending.clear()
            if not self._transport.is_closing():
                self._transport.write(data)

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending.clear()
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class ReplayHttp(HttpToolsProtocol):
    """uvicorn's protocol with gathered writes; for the proxy door, it also tells the app which
    host the client asked for (`target`: its CONNECT tunnel's, or an absolute-form URL's)."""

    target: tuple[str, str, int] | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but have its methods
        super().connection_made(_Gathered(cast(asyncio.Transport, transport), self.loop))  # type: ignore[arg-type]

    def on_headers_complete(self) -> None:
        if self.target is not None or self.url[:1] != b"/":
            self.scope[TARGET] = absolute_target(self.url) or self.target  # type: ignore[literal-required]
        super().on_headers_complete()


def absolute_target(url: bytes) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an absolute-form request target; None for any other form, or
    an authority that does not parse (the app then answers from the Host header, or refuses)."""
    scheme, sep, rest = url.partition(b"://")
    name = scheme.lower().decode("latin-1")
    if not sep or name not in ("http", "https"):
        return None
    authority = rest.split(b"/", 1)[0].split(b"?", 1)[0].decode("latin-1")
    try:
        host, port = split_host(authority)
    except ValueError:
        return None
    return name, host, port or (443 if name == "https" else 80)
