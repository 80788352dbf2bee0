"""TrustHints, the addon that says which variable a client needs when it rejects virt's CA."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from virt.mitm.trust import RejectionLog

if TYPE_CHECKING:
    from mitmproxy import connection, http, tls

MAX_CLIENTS = 4096
"""Open client connections followed; past this many, the oldest is forgotten."""


@dataclass(slots=True)
class _Client:
    host: str = ""
    agent: str | None = None
    waiting: bool = False
    """TLS is up and no request has come yet."""


class TrustHints:
    """Logs one WARNING per host and client that does not trust virt's CA, naming the variable
    that client reads.

    Two signs: the client's TLS handshake fails (OpenSSL clients, Java, Go send an alert), or it
    completes and the client hangs up before its first request (git and curl on GnuTLS check the
    certificate after the handshake). A handshake carries no User-Agent, but the CONNECT before
    it usually does (git, curl, Java and Go send one): it is kept until the connection closes.
    """

    def __init__(self, door: str = "virt record") -> None:
        self._log = RejectionLog(door)
        self._clients: dict[str, _Client] = {}
        self._stopping = False

    def stop(self) -> None:
        """The proxy is closing client connections itself: those closes say nothing of trust."""
        self._stopping = True

    def _client(self, client: connection.Client) -> _Client:
        seen = self._clients.get(client.id)
        if seen is None:
            if len(self._clients) >= MAX_CLIENTS:
                del self._clients[next(iter(self._clients))]
            seen = self._clients[client.id] = _Client()
        return seen

    def http_connect(self, flow: http.HTTPFlow) -> None:
        seen = self._client(flow.client_conn)
        seen.host = flow.request.host
        seen.agent = flow.request.headers.get("user-agent")

    def tls_established_client(self, data: tls.TlsData) -> None:
        seen = self._client(data.context.client)
        seen.host = data.conn.sni or seen.host
        seen.waiting = True

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        seen = self._clients.get(flow.client_conn.id)
        if seen is not None:
            seen.waiting = False

    def tls_failed_client(self, data: tls.TlsData) -> None:
        seen = self._clients.pop(data.context.client.id, None) or _Client()
        host = data.conn.sni or seen.host or _address(data.context.server.address)
        self._log.failed(host, seen.agent, data.conn.error or "")

    def client_disconnected(self, client: connection.Client) -> None:
        seen = self._clients.pop(client.id, None)
        if seen is not None and seen.waiting and not self._stopping:
            self._log.silent(seen.host, seen.agent)


def _address(address: tuple[str, int] | None) -> str:
    return "" if address is None else address[0]
