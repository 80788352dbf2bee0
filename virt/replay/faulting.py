"""Faults on the wire: what both doors do with a Reply that carries one.

A delay waits and then answers; a slow body dribbles the answer; the others break the
connection the way a failing network or server does (reset, close without a response, half a
body, bytes that are not HTTP). They need the connection itself: uvicorn hands the ASGI app its
request cycle's `send`, whose cycle holds the transport, in both doors (virt.replay.protocol).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import re
import socket
import struct
from typing import Any

import orjson

from virt.faults import Action, Chosen, Kind
from virt.model import HOP_BY_HOP, Interaction, Request
from virt.normalize.route import template
from virt.normalize.uri import path_form
from virt.replay.reply import MATCH_HEADER, RECORDING_HEADER, Reply, wire, wire_body
from virt.store import Filter, Store

log = logging.getLogger("virt.replay")

DRIBBLE_PIECES = 10
"""Pieces a slow body is sent in, at most (one byte each for a shorter body)."""
GARBAGE_BYTES = 512
_REASONS = {429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway"}
_REASONS |= {503: "Service Unavailable", 504: "Gateway Timeout", 401: "Unauthorized"}


def status_reply(chosen: Chosen, request: Request, store: Store) -> Reply:
    """The answer of a status fault: the route's own recorded answer with that status (its 429
    with Retry-After, its 503) where the recordings hold one, else a generic JSON error."""
    status = chosen.action.status
    tag = f"fault;status={status};attempt={chosen.attempt}"
    shape = re.sub(r"\{[^{}/]*\}", "*", template(path_form(request.path)))
    try:
        found = store.find(
            Filter(host=request.host, method=request.method.upper(), path=shape, status=status),
            limit=1,
        )
    except Exception as e:  # the recordings cannot be read: the generic answer still is one
        log.warning("no recorded %d for %s %s: %s", status, request.method, request.path, e)
        found = []
    if found:
        return _recorded(found[0], tag)
    message = f"virt fault plan: {chosen.rule.text!r}, attempt {chosen.attempt}"
    body = orjson.dumps({"error": {"type": "virt_fault", "status": status, "message": message}})
    headers: list[tuple[str, str]] = [("Content-Type", "application/json")]
    if status in (429, 503):
        headers.append(("Retry-After", "1"))
    headers += [("Content-Length", str(len(body))), (MATCH_HEADER, tag)]
    reason = _REASONS.get(status, "Error")
    return Reply(status, reason, tuple(headers), body, wire_headers=wire(headers))


def _recorded(interaction: Interaction, tag: str) -> Reply:
    resp = interaction.response
    body = wire_body(interaction)
    headers = [(n, v) for n, v in resp.headers if n.lower() not in HOP_BY_HOP | {"content-length"}]
    headers += [("Content-Length", str(len(body))), (MATCH_HEADER, tag)]
    headers.append((RECORDING_HEADER, str(interaction.id)))
    return Reply(resp.status, resp.reason, tuple(headers), body, wire_headers=wire(headers))


async def perform(reply: Reply, send: Any) -> Reply | None:
    """Carry out `reply.fault`; the reply still to send plainly afterwards, or None when the
    fault answered (or broke) the connection itself."""
    action = reply.fault
    assert action is not None
    kind = action.kind
    if kind is Kind.DELAY:
        if action.seconds > 0:
            await asyncio.sleep(action.seconds)
        return _plain(reply)
    if kind is Kind.STATUS:
        return _plain(reply)
    if kind is Kind.SLOW_BODY:
        await _dribble(reply, action, send)
        return None
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:  # not uvicorn's protocol: close is the most any ASGI server allows
        log.warning("fault %r needs the connection; answering 502 instead", action.text)
        return Reply(502, "Bad Gateway", (("Content-Length", "0"),), b"")
    if kind is Kind.TRUNCATE:
        await _start(reply, send)
        half = reply.body[: len(reply.body) // 2]
        await send({"type": "http.response.body", "body": half, "more_body": True})
    elif kind is Kind.GARBAGE:
        rng = random.Random(f"{action.text}\0{reply.status}\0{len(reply.body)}")
        transport.write(b"\x16\x03" + rng.randbytes(GARBAGE_BYTES))
    _drop(cycle, transport, reset=kind is Kind.RESET)
    return None


def _plain(reply: Reply) -> Reply:
    return Reply(
        reply.status, reply.reason, reply.headers, reply.body, reply.chunked, reply.wire_headers
    )


async def _start(reply: Reply, send: Any) -> None:
    headers = reply.encoded_headers()
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})


async def _dribble(reply: Reply, action: Action, send: Any) -> None:
    """The headers now, the body in pieces spread over `action.seconds`."""
    await _start(reply, send)
    body = reply.body
    pieces = max(1, min(DRIBBLE_PIECES, len(body)))
    size = -(-len(body) // pieces) if body else 0
    pause = action.seconds / pieces
    cycle = getattr(send, "__self__", None)
    for i in range(pieces):
        await asyncio.sleep(pause)
        if getattr(cycle, "disconnected", False):  # the client gave up: so does the dribble
            return
        chunk = body[i * size : (i + 1) * size]
        await send({"type": "http.response.body", "body": chunk, "more_body": i < pieces - 1})


def _drop(cycle: Any, transport: Any, reset: bool) -> None:
    """Close the connection: at once with a TCP reset (SO_LINGER 0), or after what was
    written. The cycle counts as disconnected, so the server neither answers nor complains."""
    with contextlib.suppress(AttributeError):
        cycle.disconnected = True
    if reset:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
        return
    transport.close()
