"""The proxy door: a mitmproxy addon that answers every request from recordings, never upstream."""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import http
from mitmproxy.net.tls import starts_like_tls_record
from mitmproxy.proxy import commands, events, layer, layers
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from virt.encoding import BodyTooLarge
from virt.limits import DEFAULT_MAX_BODY
from virt.mitm import REPLAYED
from virt.mitm.bounds import bounds_options, refusal
from virt.mitm.convert import make_response, to_request
from virt.replay.respond import OFF_LOOP_BODY, Replayer

log = logging.getLogger("virt.replay")


class Responder:
    """Sets a response on every flow in the request hook, so mitmproxy never connects upstream.

    Run it with connection_strategy=lazy and upstream_cert=false (see proxy_options): then not
    even the TLS handshake with the client makes mitmproxy reach for the real host. A body that
    decodes past `max_body` is answered 413.
    """

    def __init__(self, replayer: Replayer, max_body: int = DEFAULT_MAX_BODY) -> None:
        self.replayer = replayer
        self.max_body = max_body

    async def request(self, flow: http.HTTPFlow) -> None:
        if flow.response is not None:
            return
        flow.metadata[REPLAYED] = True
        raw = flow.request.raw_content or b""
        try:
            if len(raw) > OFF_LOOP_BODY:  # decoding a large body would hold up every client
                request = await asyncio.to_thread(to_request, flow.request, self.max_body)
            else:
                request = to_request(flow.request, self.max_body)
        except BodyTooLarge as e:
            log.warning("refused %s %s: %s", flow.request.method, flow.request.pretty_url, e)
            flow.response = refusal(self.max_body, str(e).removeprefix("body "))
            return
        peer = flow.client_conn.peername
        client = str(peer[0]) if peer else ""
        reply = await self.replayer.respond(request, "proxy", client)
        headers = reply.headers
        if reply.chunked and flow.request.http_version == "HTTP/1.1":
            headers = (*headers, ("Transfer-Encoding", "chunked"))
        flow.response = make_response(
            reply.status, reply.reason, headers, reply.body, flow.request.http_version
        )


_REFUSED = b"virt's proxy door replays HTTP only; it never opens a tunnel or a raw connection\n"
REFUSAL = (
    b"HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Content-Length: %d\r\n\r\n%s" % (len(_REFUSED), _REFUSED)
)
"""What a client that sends something other than HTTP through the proxy door reads."""


class NoUpstream:
    """Keeps the proxy door from reaching any real host, whatever a client sends.

    Responder answers every HTTP request, but after CONNECT a client may speak raw TCP (SSH,
    Redis, Postgres), ask for a websocket, or send TLS that mitmproxy would pass through: each
    would open a connection to the real host, and on 0.0.0.0 make virt an open relay. Such a
    connection is refused with a 400 instead, and any upstream connection mitmproxy is about to
    open is killed before it connects. Passthrough does not need one: it forwards with httpx
    and records what it forwards.
    """

    def next_layer(self, nextlayer: layer.NextLayer) -> None:
        chosen = nextlayer.layer
        if chosen is None:
            return  # mitmproxy waits for more bytes before it decides
        relays = isinstance(
            chosen, layers.TCPLayer | layers.UDPLayer | layers.DNSLayer | layers.RawQuicLayer
        )
        if relays or (isinstance(chosen, layers.HttpLayer) and _not_http(nextlayer.data_client())):
            log.warning(
                "refused a non-HTTP connection from %s through the proxy door",
                _where(nextlayer.context.client.peername),
            )
            nextlayer.layer = _Refusal(nextlayer.context)

    def server_connect(self, data: ServerConnectionHookData) -> None:
        address = _where(data.server.address)
        log.warning("refused to connect to %s: replay never connects upstream", address)
        data.server.error = f"virt replays from recordings and never connects to {address}"


def _not_http(data: bytes) -> bool:
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


def _where(address: tuple[str, int] | tuple[str, int, int, int] | None) -> str:
    return f"{address[0]}:{address[1]}" if address else "an unknown address"


class _Refusal(layer.Layer):
    """A layer that answers REFUSAL and closes the connection, reading nothing further."""

    def _handle_event(self, event: events.Event) -> layer.CommandGenerator[None]:
        if isinstance(event, events.Start):
            yield commands.SendData(self.context.client, REFUSAL)
            yield commands.CloseConnection(self.context.client)


def proxy_options(max_body: int = DEFAULT_MAX_BODY) -> dict[str, object]:
    """mitmproxy options under which the proxy door opens no upstream connection.

    Lazy connections and no upstream certificate lookup keep CONNECT and TLS local; raw TCP,
    websockets, HTTP/3 and host lists for TCP, UDP or ignored (passed-through) hosts are off,
    whatever a mitmproxy default or a later version says.
    """
    return {
        "connection_strategy": "lazy",
        "upstream_cert": False,
        "rawtcp": False,
        "websocket": False,
        "http3": False,
        "ignore_hosts": [],
        "allow_hosts": [],
        "tcp_hosts": [],
        "udp_hosts": [],
        **bounds_options(max_body),
    }
