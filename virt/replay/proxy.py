"""The proxy door: a mitmproxy addon that answers every request from recordings, never upstream."""

from __future__ import annotations

from mitmproxy import http

from virt.match.engine import Engine
from virt.mitm import REPLAYED
from virt.mitm.convert import make_response, to_request
from virt.replay.respond import Forward, Redact, Shift, Tokens, respond


class Responder:
    """Sets a response on every flow in the request hook, so mitmproxy never connects upstream.

    Run it with connection_strategy=lazy and upstream_cert=false (see PROXY_OPTIONS): then not
    even the TLS handshake with the client makes mitmproxy reach for the real host.
    """

    def __init__(
        self,
        engine: Engine,
        forward: Forward | None = None,
        redact: Redact | None = None,
        tokens: Tokens | None = None,
        shift: Shift | None = None,
    ) -> None:
        self.engine = engine
        self.forward = forward
        self.redact = redact
        self.tokens = tokens
        self.shift = shift

    async def request(self, flow: http.HTTPFlow) -> None:
        peer = flow.client_conn.peername
        client = str(peer[0]) if peer else ""
        reply = await respond(
            self.engine,
            to_request(flow.request),
            self.forward,
            "proxy",
            client,
            self.redact,
            self.tokens,
            self.shift,
        )
        headers = reply.headers
        if reply.chunked and flow.request.http_version == "HTTP/1.1":
            headers = (*headers, ("Transfer-Encoding", "chunked"))
        flow.metadata[REPLAYED] = True
        flow.response = make_response(
            reply.status, reply.reason, headers, reply.body, flow.request.http_version
        )


PROXY_OPTIONS = {"connection_strategy": "lazy", "upstream_cert": False}
"""mitmproxy options under which the proxy door opens no upstream connection."""
