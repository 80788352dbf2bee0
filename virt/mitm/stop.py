"""Stopping a running proxy gently: stop listening, let what is in flight finish, then close the
client connections that are left, so that no client is cut off in the middle of its answer.

mitmproxy's own shutdown cancels every connection at once. These steps reach its proxyserver
addon's live connections; each is guarded, so a mitmproxy that changed them only loses the
gentleness (connections are then cancelled by the shutdown, as before), never the shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mitmproxy.http import HTTPFlow
    from mitmproxy.master import Master

log = logging.getLogger(__name__)


def stop_listening(master: Master) -> None:
    """Close the listening sockets; connections already open stay up."""
    master.options.update(server=False)


def _handlers(master: Master) -> list[Any]:
    server = master.addons.get("proxyserver")
    return list(getattr(server, "connections", {}).values())


def abort_upstreams(master: Master, flows: Iterable[HTTPFlow]) -> None:
    """Close the upstream connections `flows` wait on: mitmproxy then answers each client 502
    (the upstream went away) instead of leaving it with no answer at all."""
    by_client = {getattr(h, "client", None): h for h in _handlers(master)}
    for flow in flows:
        handler = by_client.get(flow.client_conn)
        if handler is not None and flow.server_conn in getattr(handler, "transports", {}):
            with contextlib.suppress(Exception):
                handler.close_connection(flow.server_conn)


async def answered(flows: Iterable[HTTPFlow], timeout: float) -> None:
    """Wait up to `timeout` seconds until mitmproxy has answered each of `flows` (the 502 for an
    upstream closed by abort_upstreams): it marks a flow no longer live only after its answer is
    in the client's write buffer. The error hook runs before that answer is queued, so a flow's
    error being set does not yet mean its client has anything to read."""
    pending = list(flows)
    deadline = time.monotonic() + timeout
    while any(f.live for f in pending) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)


def _unsent(handler: Any) -> int:
    with contextlib.suppress(Exception):
        transport = handler.transports[handler.client].writer.transport
        if not transport.is_closing():
            return int(transport.get_write_buffer_size())
    return 0


async def close_clients(master: Master, timeout: float) -> None:
    """Wait up to `timeout` seconds for every answer to leave its write buffer, then close the
    client connections and wait for their handlers to end."""
    deadline = time.monotonic() + timeout
    while any(_unsent(h) for h in _handlers(master)) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    for handler in _handlers(master):
        with contextlib.suppress(Exception):
            handler.close_connection(handler.client)
    deadline = time.monotonic() + 2.0
    while _handlers(master) and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
