"""Recorder, the recording mitmproxy addon: every finished exchange becomes a committed row."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from mitmproxy import ctx, http
from mitmproxy.addonmanager import Loader
from mitmproxy.exceptions import OptionsError

from virt.errors import StoreError
from virt.mitm import REPLAYED
from virt.mitm.convert import make_response, to_interaction
from virt.model import Interaction
from virt.normalize import keys
from virt.store.writer import Writer

log = logging.getLogger("virt.record")


def default_session() -> str:
    """A recording session name from the current time: record-20261125T120000Z."""
    return "record-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")


class Recorder:
    """Records each finished exchange; the client gets its response only after the row is committed.

    A response that cannot be recorded is replaced by a 502 that says why: traffic never passes
    through unrecorded without the client noticing.
    """

    def __init__(self, on_recorded: Callable[[Interaction], None] | None = None) -> None:
        self._writer: Writer | None = None
        self._session = ""
        self._on_recorded = on_recorded

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

    async def response(self, flow: http.HTTPFlow) -> None:
        if flow.metadata.get(REPLAYED) or flow.response is None or self._writer is None:
            return
        interaction = to_interaction(flow, self._session)
        try:
            written = await self._writer.write(interaction, keys(interaction.request))
        except StoreError as e:
            log.error("not recorded: %s %s: %s", flow.request.method, flow.request.url, e)
            body = f"virt could not record this response: {e}\n".encode()
            flow.response = make_response(
                502,
                "Bad Gateway",
                (("Content-Type", "text/plain"), ("Content-Length", str(len(body)))),
                body,
            )
            return
        log.info(
            "recorded #%d %s %s -> %d",
            written.id,
            interaction.request.method,
            interaction.request.url,
            interaction.response.status,
        )
        if self._on_recorded is not None:
            self._on_recorded(written)

    def error(self, flow: http.HTTPFlow) -> None:
        if flow.error is None or flow.metadata.get(REPLAYED):
            return
        msg = flow.error.msg
        hint = ""
        if "certificate" in msg.lower():
            hint = " (set SSL_CERT_FILE to the CA that signed it, or record with --insecure)"
        elif "connect" in msg.lower() or "resolve" in msg.lower():
            hint = " (is the service up and its address right?)"
        log.warning(
            "upstream error, nothing recorded: %s %s: %s%s",
            flow.request.method,
            flow.request.pretty_url,
            msg,
            hint,
        )

    def done(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
