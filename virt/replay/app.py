"""Both doors' ASGI callable: answers from recordings (the hot path).

The direct door takes the upstream from a --route prefix, the Host header or the only recorded
host; the proxy door (virt.replay.proxydoor) from what the client asked its proxy for.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from virt import encoding
from virt.limits import DEFAULT_MAX_BODY, size_text, too_large
from virt.match.engine import Engine
from virt.memo import Memo
from virt.model import Headers, Request, header, url_text
from virt.replay.faulting import perform
from virt.replay.miss import miss_reply
from virt.replay.protocol import TARGET
from virt.replay.reply import Reply
from virt.replay.respond import OFF_LOOP_BODY, Replayer
from virt.replay.routing import Router, split_host
from virt.store import Origin

log = logging.getLogger("virt.replay")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

ADMIN_PREFIX = "/__virt"


class _TooLarge(Exception):
    """The request body passed the limit while it was read."""


class ReplayApp:
    """Answers every request from the engine; on the direct door, /__virt/ goes to the admin
    app. `door` is "direct" or "proxy".

    A request body over `max_body` is answered 413: refused from its Content-Length before it
    is read, else as soon as the bytes read pass the limit, else when it decodes past it.
    """

    def __init__(
        self,
        engine: Engine,
        router: Router,
        admin: ASGIApp | None = None,
        replayer: Replayer | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        door: str = "direct",
    ) -> None:
        self.engine = engine
        self.door = door
        self.router = router
        self.admin = admin
        self.replayer = replayer or Replayer(engine)
        self.max_body = max_body

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "lifespan":
            await _lifespan(receive, send)
            return
        if kind != "http":
            return  # websockets are not replayed; uvicorn closes the connection
        if self.admin is not None and (
            scope["path"] == ADMIN_PREFIX or scope["path"].startswith(ADMIN_PREFIX + "/")
        ):
            await self.admin(scope, receive, send)
            return
        length = _content_length(scope["headers"])
        if length is not None and length > self.max_body:
            await _send(send, self._refuse(scope, f"this one: {size_text(length)}"))
            return
        try:
            raw = await _read_body(receive, self.max_body)
        except _TooLarge:
            await _send(send, self._refuse(scope, "this one is longer"))
            return
        reply = await self.answer(scope, raw)
        if reply.fault is not None:  # a fault plan's, or --latency: never on the plain path
            plain = await perform(reply, send)
            if plain is None:
                return
            reply = plain
        await _send(send, reply)

    async def answer(self, scope: dict[str, Any], raw_body: bytes) -> Reply:
        headers = _text_headers(scope["headers"])
        path = url_text(scope.get("raw_path") or scope["path"].encode())
        path = path.partition("?")[0]
        query = url_text(scope["query_string"])
        method = scope["method"]
        host_header = header(headers, "host")
        try:
            named = split_host(host_header) if host_header else None
        except ValueError as e:
            log.warning("refused %s %s: %s", method, path, e)
            return _plain(400, "Bad Request", f"virt: {e}\n")
        try:
            if self.door == "proxy":
                resolved = _proxied(scope, named, path)
            else:
                resolved = self.router.resolve(path, host_header)
        except Exception as e:  # the recordings could not be read: answer, and keep serving
            log.exception("cannot route %s %s", method, path)
            resolved = f"virt could not read its recordings: {e}"
        content_encoding = header(headers, "content-encoding")
        try:
            if len(raw_body) > OFF_LOOP_BODY and content_encoding:
                # decoding is CPU work: a large body would hold up every other client
                body, coding = await asyncio.to_thread(
                    encoding.decode_body, raw_body, content_encoding, self.max_body
                )
            else:
                body, coding = encoding.decode_body(raw_body, content_encoding, self.max_body)
        except encoding.BodyTooLarge as e:
            return self._refuse(scope, f"this one {str(e).removeprefix('body ')}")
        if isinstance(resolved, str):
            server_host, server_port = scope.get("server") or ("127.0.0.1", 0)
            host, port = named or (server_host, None)
            client_view = Request(
                method,
                scope.get("scheme", "http"),
                host,
                port or server_port or 80,
                path,
                query,
                headers,
            )
            log.warning("miss %s %s: %s", method, client_view.url, resolved)
            reply = miss_reply(client_view, [], why=resolved)
            self.engine.journal.add(
                door=self.door,
                method=method,
                url=client_view.url,
                match="miss",
                status=reply.status,
                why=resolved,
            )
            return reply
        origin, upstream_path = resolved
        request = Request(
            method=method,
            scheme=origin.scheme,
            host=origin.host,
            port=origin.port,
            path=upstream_path,
            query=query,
            headers=headers,
            body=body,
            encoding=coding,
            http_version="HTTP/" + scope.get("http_version", "1.1"),
        )
        client = scope.get("client") or ("", 0)
        return await self.replayer.respond(request, self.door, str(client[0]))

    def _refuse(self, scope: dict[str, Any], what: str) -> Reply:
        """413 for a body past the limit, saying the limit and how to raise it."""
        log.warning(
            "refused %s %s: body over %s", scope["method"], scope["path"], size_text(self.max_body)
        )
        return _plain(413, "Content Too Large", too_large(self.max_body, what))


def _proxied(
    scope: dict[str, Any], named: tuple[str, int | None] | None, path: str
) -> tuple[Origin, str] | str:
    """The upstream a proxy client asked for: its absolute-form URL or CONNECT tunnel, else
    the Host header of a plain request."""
    target = scope.get(TARGET)
    if target is not None:
        return Origin(*target), path
    if named is None:
        return "the request names no host: a proxy client sends an absolute URL or a Host header"
    host, port = named
    return Origin("http", host, port or 80), path


def _content_length(raw_headers: list[tuple[bytes, bytes]]) -> int | None:
    """The Content-Length a request declares, when it is one ASCII number (the server checked)."""
    for name, value in raw_headers:
        if name.lower() == b"content-length":
            value = value.strip()
            return int(value) if value.isdigit() and len(value) < 20 else None
    return None


async def _read_body(receive: Any, limit: int) -> bytes:
    """The request body; raises _TooLarge as soon as more than `limit` bytes have come."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def _plain(status: int, reason: str, text: str) -> Reply:
    body = text.encode()
    headers = (("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))))
    return Reply(status, reason, headers, body)


_decoded: Memo[tuple[tuple[bytes, bytes], ...], Headers] = Memo(again=True)
"""Request headers as virt reads them, for the header sets seen lately."""


def _text_headers(raw: list[tuple[bytes, bytes]]) -> Headers:
    key = tuple(raw)
    found = _decoded.get(key)
    if found is None:
        found = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in raw)
        if sum(len(k) + len(v) for k, v in raw) <= 8192:
            _decoded.put(key, found)
    return found


async def _send(send: Any, reply: Reply) -> None:
    headers = reply.encoded_headers()
    await send({"type": "http.response.start", "status": reply.status, "headers": headers})
    if reply.chunked:
        # no Content-Length: the server frames it chunked, as the recording was
        await send({"type": "http.response.body", "body": reply.body, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    else:
        await send({"type": "http.response.body", "body": reply.body})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
