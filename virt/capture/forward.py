"""Forwarder: passthrough for replay misses; sends the request upstream and records the exchange."""

from __future__ import annotations

import asyncio
import time

import httpx

from virt import encoding
from virt.config import UpstreamTrust
from virt.limits import DEFAULT_MAX_BODY, size_text
from virt.model import HOP_BY_HOP, Interaction, Keys, Request, Response, Timings, header, iso_utc
from virt.normalize import keys
from virt.redact import Redactor
from virt.store.writer import Writer

_NOT_FORWARDED = HOP_BY_HOP | {"host", "content-length"}


class UpstreamTooLarge(encoding.BodyTooLarge):
    """The upstream's response body passed the limit: it is neither recorded nor relayed."""


class Forwarder:
    """Calls real upstreams with httpx, which honours HTTP(S)_PROXY, NO_PROXY and SSL_CERT_FILE."""

    def __init__(
        self,
        writer: Writer,
        session: str,
        *,
        verify: bool = True,
        timeout: float = 30.0,
        redactor: Redactor | None = None,
        max_body: int = DEFAULT_MAX_BODY,
    ) -> None:
        self.writer = writer
        self.session = session
        self.redactor = redactor
        self.max_body = max_body
        # the same upstream trust as recording (SSL_CERT_FILE, REQUESTS_CA_BUNDLE, ...)
        self.client = httpx.AsyncClient(
            trust_env=True,
            verify=UpstreamTrust.from_env().ssl_context() if verify else False,
            timeout=timeout,
            follow_redirects=False,
        )

    async def __call__(self, request: Request) -> Interaction:
        """The recorded exchange. Raises UpstreamTooLarge for a response body past max_body
        (read no further than that), encoding.BodyTooLarge when it decodes past it."""
        headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_FORWARDED]
        body = request.body
        if request.encoding:
            body = encoding.encode(body, request.encoding)
        start = time.time()
        async with self.client.stream(
            request.method, request.url, headers=headers, content=body
        ) as upstream:
            response_start = time.time()
            raw = await self._read(upstream)
        end = time.time()
        resp_headers = tuple(
            (k.decode("latin-1"), v.decode("latin-1")) for k, v in upstream.headers.raw
        )
        decoded, coding = await asyncio.to_thread(
            encoding.decode_body, raw, header(resp_headers, "content-encoding"), self.max_body
        )
        interaction = Interaction(
            request=request,
            response=Response(
                status=upstream.status_code,
                reason=upstream.reason_phrase,
                headers=resp_headers,
                body=decoded,
                encoding=coding,
                wire_body=raw if coding else None,
                http_version=upstream.http_version,
            ),
            session=self.session,
            recorded_at=iso_utc(start),
            timings=Timings(start, start, response_start, end),
        )
        stored, lookup = await asyncio.to_thread(self._prepare, interaction)
        written = await self.writer.write(stored, lookup)
        assert written.id is not None
        return interaction.with_id(written.id, written.seq)  # the client gets the real answer

    async def _read(self, upstream: httpx.Response) -> bytes:
        """The raw body, refused from its Content-Length or as soon as it passes max_body."""
        declared = upstream.headers.get("content-length", "")
        if declared.isascii() and declared.isdigit() and int(declared) > self.max_body:
            raise UpstreamTooLarge(
                self._too_large(f"it declares {size_text(int(declared))}"), self.max_body
            )
        chunks, size = [], 0
        async for chunk in upstream.aiter_raw():
            size += len(chunk)
            if size > self.max_body:
                raise UpstreamTooLarge(self._too_large("it is longer"), self.max_body)
            chunks.append(chunk)
        return b"".join(chunks)

    def _too_large(self, what: str) -> str:
        return f"the upstream's response body is over {size_text(self.max_body)} ({what})"

    def _prepare(self, interaction: Interaction) -> tuple[Interaction, Keys]:
        if self.redactor is not None:
            interaction = self.redactor.interaction(interaction)
        return interaction, keys(interaction.request)

    async def aclose(self) -> None:
        await self.client.aclose()
