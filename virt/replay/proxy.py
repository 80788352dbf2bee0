"""The proxy door: a mitmproxy addon that answers every request from recordings, never upstream."""

from __future__ import annotations

import asyncio
import logging

from mitmproxy import http
from mitmproxy.proxy.server_hooks import ServerConnectionHookData

from virt.encoding import BodyTooLarge
from virt.limits import DEFAULT_MAX_BODY
from virt.mitm import REPLAYED
from virt.mitm.bounds import bounds_options, refusal
from virt.mitm.convert import make_response, to_request
from virt.mitm.httponly import HttpOnly, refusal_bytes, where
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


_HTTP_ONLY = "virt's proxy door replays HTTP only; it never opens a tunnel or a raw connection"
REFUSAL = refusal_bytes(_HTTP_ONLY)
"""What a client that sends something other than HTTP through the proxy door reads."""


class NoUpstream(HttpOnly):
    """Keeps the proxy door from reaching any real host, whatever a client sends.

    Responder answers every HTTP request; anything else is refused (see virt.mitm.httponly),
    and any upstream connection mitmproxy is about to open is killed before it connects.
    Passthrough does not need one: it forwards with httpx and records what it forwards.
    """

    def __init__(self) -> None:
        super().__init__(_HTTP_ONLY, "the proxy door")

    def server_connect(self, data: ServerConnectionHookData) -> None:
        address = where(data.server.address)
        log.warning("refused to connect to %s: replay never connects upstream", address)
        data.server.error = f"virt replays from recordings and never connects to {address}"


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
