"""The proxy door: a mitmproxy addon that answers every request from recordings, never upstream."""

from __future__ import annotations

from mitmproxy import http

from virt.mitm import REPLAYED
from virt.mitm.convert import make_response, to_request
from virt.replay.respond import Replayer


class Responder:
    """Sets a response on every flow in the request hook, so mitmproxy never connects upstream.

    Run it with connection_strategy=lazy and upstream_cert=false (see PROXY_OPTIONS): then not
    even the TLS handshake with the client makes mitmproxy reach for the real host.
    """

    def __init__(self, replayer: Replayer) -> None:
        self.replayer = replayer

    async def request(self, flow: http.HTTPFlow) -> None:
        peer = flow.client_conn.peername
        client = str(peer[0]) if peer else ""
        reply = await self.replayer.respond(to_request(flow.request), "proxy", client)
        headers = reply.headers
        if reply.chunked and flow.request.http_version == "HTTP/1.1":
            headers = (*headers, ("Transfer-Encoding", "chunked"))
        flow.metadata[REPLAYED] = True
        flow.response = make_response(
            reply.status, reply.reason, headers, reply.body, flow.request.http_version
        )


PROXY_OPTIONS = {"connection_strategy": "lazy", "upstream_cert": False}
"""mitmproxy options under which the proxy door opens no upstream connection."""
