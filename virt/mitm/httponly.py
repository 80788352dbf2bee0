"""HttpOnly, the mitmproxy addon that refuses every connection that is not HTTP.

virt records and replays HTTP. After CONNECT a client may speak raw TCP (SSH, Redis, Postgres),
or TLS around something other than HTTP, and mitmproxy would relay it to the real host: at
replay that makes the proxy door a relay into the network, and at record it is traffic that
passes through without being recorded. Either way the client gets a 400 that says why, and the
connection is closed.
"""

from __future__ import annotations

import logging

from mitmproxy.net.tls import starts_like_tls_record
from mitmproxy.proxy import commands, events, layer, layers
from mitmproxy.proxy.context import Context

log = logging.getLogger("virt")


def not_http(data: bytes) -> bool:
    """Whether the first bytes a client sent cannot start an HTTP request (or a TLS handshake).

    The same signs as mitmproxy's own guess for raw TCP: a request starts with a method made of
    letters, then a space on its first line.
    """
    if not data or starts_like_tls_record(data):
        return False
    head = data[:3]
    if not head.isalpha() or data.startswith(b"SSH-"):
        return True
    newline, space = data.find(b"\n"), data.find(b" ")
    return newline != -1 and (space == -1 or space > newline)


def refusal_bytes(why: str) -> bytes:
    """A complete HTTP/1.1 400 response saying `why`, closing the connection."""
    body = why.encode() + b"\n"
    return (
        b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
        b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )


def where(address: tuple[str, int] | tuple[str, int, int, int] | None) -> str:
    """host:port of a connection's address, for a log line."""
    return f"{address[0]}:{address[1]}" if address else "an unknown address"


class HttpOnly:
    """Replaces any layer that would relay raw bytes (TCP, UDP, DNS, QUIC), and HTTP that is
    plainly not HTTP, with a refusal: `why` is its text, `door` names the part in the log."""

    def __init__(self, why: str, door: str) -> None:
        self.answer = refusal_bytes(why)
        self.door = door

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        chosen = nextlayer.layer
        if chosen is None:
            return  # mitmproxy waits for more bytes before it decides
        relays = isinstance(
            chosen, layers.TCPLayer | layers.UDPLayer | layers.DNSLayer | layers.RawQuicLayer
        )
        if relays or (isinstance(chosen, layers.HttpLayer) and not_http(nextlayer.data_client())):
            log.warning(
                "refused a non-HTTP connection from %s through %s",
                where(nextlayer.context.client.peername),
                self.door,
            )
            nextlayer.layer = _Refusal(nextlayer.context, self.answer)


class _Refusal(layer.Layer):
    """A layer that answers its refusal and closes the connection, reading nothing further."""

    def __init__(self, context: Context, answer: bytes) -> None:
        super().__init__(context)
        self.answer = answer

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.Start):
            yield commands.SendData(self.context.client, self.answer)
            yield commands.CloseConnection(self.context.client)
