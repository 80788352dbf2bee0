"""The direct door: a plain ASGI callable that answers from recordings (the hot path)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from virt import encoding
from virt.match.engine import Engine
from virt.model import Headers, Request, header, url_text
from virt.replay.miss import miss_reply
from virt.replay.reply import Reply
from virt.replay.respond import Replayer
from virt.replay.routing import Router

log = logging.getLogger("virt.replay")

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]

ADMIN_PREFIX = "/__virt"


class ReplayApp:
    """Answers every request from the engine; /__virt/ goes to the admin app."""

    def __init__(
        self,
        engine: Engine,
        router: Router,
        admin: ASGIApp | None = None,
        replayer: Replayer | None = None,
    ) -> None:
        self.engine = engine
        self.router = router
        self.admin = admin
        self.replayer = replayer or Replayer(engine)

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
        raw = await _read_body(receive)
        reply = await self.answer(scope, raw)
        await _send(send, reply)

    async def answer(self, scope: dict[str, Any], raw_body: bytes) -> Reply:
        headers: Headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]
        )
        path = url_text(scope.get("raw_path") or scope["path"].encode())
        path = path.partition("?")[0]
        query = url_text(scope["query_string"])
        method = scope["method"]
        try:
            resolved = self.router.resolve(path, header(headers, "host"))
        except Exception as e:  # the recordings could not be read: answer, and keep serving
            log.exception("cannot route %s %s", method, path)
            resolved = f"virt could not read its recordings: {e}"
        body, coding = encoding.decode_body(raw_body, header(headers, "content-encoding"))
        if isinstance(resolved, str):
            server_host, server_port = scope.get("server") or ("127.0.0.1", 0)
            host, _, port = (header(headers, "host") or server_host).rpartition(":")
            if not port.isdigit():
                host, port = header(headers, "host") or server_host, str(server_port or 80)
            client_view = Request(
                method, scope.get("scheme", "http"), host, int(port), path, query, headers
            )
            log.warning("miss %s %s: %s", method, client_view.url, resolved)
            reply = miss_reply(client_view, [], why=resolved)
            self.engine.journal.add(
                door="direct",
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
        return await self.replayer.respond(request, "direct", str(client[0]))


async def _read_body(receive: Any) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _send(send: Any, reply: Reply) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": reply.status,
            "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers],
        }
    )
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
