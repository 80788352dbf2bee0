"""Recorder, the recording mitmproxy addon: every finished exchange becomes a committed row."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader
from mitmproxy.exceptions import OptionsError

from virt.encoding import BodyTooLarge
from virt.errors import ConfigError, StoreError
from virt.mitm import REPLAYED
from virt.mitm.convert import make_response, to_interaction
from virt.model import Interaction, Keys
from virt.normalize import keys
from virt.redact import Redactor, RedactRules, UnredactableBody
from virt.redact.key import secret_key
from virt.store.writer import Writer

log = logging.getLogger("virt.record")

OFF_LOOP_BODY = 64 * 1024
"""Exchanges whose bodies together pass this are redacted and hashed on a worker thread."""

_REFUSED = "virt.refused"
"""flow.metadata key on requests that arrived while the recorder was stopping."""
_ABANDONED = "virt.abandoned"
"""flow.metadata key on exchanges still waiting on their upstream when stopping gave up."""


def _reason(e: Exception, stage: str) -> str:
    """What went wrong, in one line. A StoreError says it itself; any other error is named by
    its type and the stage it stopped, never by its message, which may quote a body's bytes
    (and so a secret)."""
    if isinstance(e, StoreError):
        return str(e)
    if isinstance(e, BodyTooLarge | UnredactableBody):  # sizes and codings, never the bytes
        return f"{stage} failed: {e}"
    if isinstance(e, RecursionError):
        return f"{stage} failed: it is nested too deep"
    return f"{stage} failed ({type(e).__name__})"


def _where(flow: http.HTTPFlow) -> str:
    """The URL of a flow for a log line, without its query: a query often carries a key."""
    return flow.request.pretty_url.partition("?")[0]


def default_session() -> str:
    """A recording session name from the current time: record-20261125T120000Z."""
    return "record-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class Recorder:
    """Records each finished exchange; the client gets its response only after the row is committed.

    A response that cannot be recorded is replaced by a 502 that says why: traffic never passes
    through unrecorded without the client noticing. Secrets are redacted before the row is
    written (virt_redact, on by default); the client still gets the real response.
    """

    def __init__(
        self,
        on_recorded: Callable[[Interaction], None] | None = None,
        rules: RedactRules | None = None,
    ) -> None:
        self._writer: Writer | None = None
        self._session = ""
        self._on_recorded = on_recorded
        self._rules = rules or RedactRules()
        self._redactor: Redactor | None = None
        self._in_flight: dict[str, http.HTTPFlow] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._stopping = False
        self.recorded = 0
        """Interactions committed since this recorder started."""

    def load(self, loader: Loader) -> None:
        loader.add_option(
            "virt_db", str, "recordings/virt.db", "SQLite file to record into; created if missing."
        )
        loader.add_option(
            "virt_session",
            str,
            "",
            "Recording session name stored with each interaction; default: record-<UTC time>.",
        )
        loader.add_option(
            "virt_redact",
            bool,
            True,
            "Replace secrets with keyed placeholders before writing (virt_redact=false keeps "
            "raw traffic, credentials included).",
        )

    def configure(self, updated: set[str]) -> None:
        if "virt_db" in updated:
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            try:
                self._writer = Writer(Path(ctx.options.virt_db))
            except StoreError as e:
                raise OptionsError(f"{e} ({e.hint})" if e.hint else str(e)) from e
        if "virt_session" in updated or not self._session:
            self._session = ctx.options.virt_session or default_session()
        if {"virt_db", "virt_redact"} & updated:
            self._redactor = None
            if ctx.options.virt_redact:
                try:
                    key = secret_key(Path(ctx.options.virt_db))
                except ConfigError as e:
                    raise OptionsError(f"{e} ({e.hint})" if e.hint else str(e)) from e
                self._redactor = Redactor(key, self._rules)
            else:
                log.warning("recording raw traffic: secrets are written as they are (no redaction)")

    def requestheaders(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(REPLAYED):
            return
        if self._stopping:
            flow.metadata[_REFUSED] = True  # answered in `request`, once its body is read
            return
        self._in_flight[flow.id] = flow
        self._idle.clear()

    def request(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.pop(_REFUSED, False):
            flow.metadata[REPLAYED] = True  # virt's own answer: nothing to record
            body = b"virt is stopping: this request was not forwarded\n"
            flow.response = make_response(
                503,
                "Service Unavailable",
                (
                    ("Content-Type", "text/plain"),
                    ("Content-Length", str(len(body))),
                    ("Connection", "close"),
                ),
                body,
            )

    async def drain(self, timeout: float) -> list[http.HTTPFlow]:
        """Stop taking new requests (each is answered 503) and wait up to `timeout` seconds for
        the exchanges in flight to be recorded; returns those still waiting on their upstream."""
        self._stopping = True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)
        left = list(self._in_flight.values())
        for flow in left:
            flow.metadata[_ABANDONED] = True
        return left

    def _landed(self, flow: http.HTTPFlow) -> None:
        self._in_flight.pop(flow.id, None)
        if not self._in_flight:
            self._idle.set()

    async def response(self, flow: http.HTTPFlow) -> None:
        try:
            await self._record(flow)
        finally:
            self._landed(flow)

    async def _record(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(REPLAYED) or flow.response is None:
            return
        if self._writer is None:
            self._refuse(flow, "the recorder has no database open")
            return
        stage = "reading the exchange"
        try:
            interaction = to_interaction(flow, self._session)
            stage = "redacting and indexing the exchange"
            size = len(interaction.request.body) + len(interaction.response.body)
            if size > OFF_LOOP_BODY:
                # redacting and hashing scan whole bodies: a large one off the event loop
                interaction, lookup = await asyncio.to_thread(self._prepare, interaction)
            else:  # where a thread hop would cost more than the work
                interaction, lookup = self._prepare(interaction)
            stage = "writing the exchange"
            written = await self._writer.write(interaction, lookup)
        except Exception as e:  # delivered means committed: whatever failed, the client knows
            self._refuse(flow, _reason(e, stage))
            return
        self.recorded += 1
        log.debug(
            "recorded #%d %s %s -> %d",
            written.id,
            interaction.request.method,
            interaction.request.url,
            interaction.response.status,
        )
        if self._on_recorded is not None:
            self._on_recorded(written)

    def _refuse(self, flow: http.HTTPFlow, why: str) -> None:
        """Replace the upstream's response with a 502 saying why it was not recorded."""
        log.error("not recorded: %s %s: %s", flow.request.method, _where(flow), why)
        body = f"virt could not record this response: {why}\n".encode()
        flow.response = make_response(
            502,
            "Bad Gateway",
            (("Content-Type", "text/plain"), ("Content-Length", str(len(body)))),
            body,
        )

    def _prepare(self, interaction: Interaction) -> tuple[Interaction, Keys]:
        if self._redactor is not None:
            interaction = self._redactor.interaction(interaction)
        return interaction, keys(interaction.request)

    def error(self, flow: http.HTTPFlow) -> None:
        self._landed(flow)
        if flow.error is None or flow.metadata.get(REPLAYED):
            return
        msg = flow.error.msg
        low = msg.lower()
        hint = ""
        if flow.metadata.get(_ABANDONED):
            hint = " (virt was stopping and stopped waiting for the answer)"
        elif "certificate" in low:
            hint = " (set SSL_CERT_FILE to the CA that signed it, or record with --insecure)"
        elif "disconnect" in low or "closed connection" in low:
            hint = " (the client or the upstream closed the connection before the answer)"
        elif "connect" in low or "resolve" in low:
            hint = " (is the service up and its address right?)"
        log.warning(
            "upstream error, nothing recorded: %s %s: %s%s",
            flow.request.method,
            _where(flow),
            msg,
            hint,
        )

    def done(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
