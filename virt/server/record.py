"""virt record's process: the recording proxy, until SIGINT or SIGTERM, then a graceful stop."""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from virt.capture.addon import Recorder
from virt.capture.trust import TrustHints
from virt.config import read_config
from virt.errors import ConfigError, UpstreamUnreachable
from virt.limits import DEFAULT_MAX_BODY
from virt.mitm.bounds import BodyBounds, bounds_options
from virt.mitm.httponly import HttpOnly
from virt.mitm.master import (
    DEFAULT_CONFDIR,
    Proxy,
    ProxySettings,
    check_port_free,
    ensure_ca,
    upstream_trust,
)
from virt.mitm.stop import abort_upstreams, answered, close_clients, stop_listening
from virt.mitm.tasks import spawn
from virt.redact import RedactRules
from virt.server.loop import set_aside_startup
from virt.server.signals import stop_on_signals
from virt.store.writer import Writer

log = logging.getLogger("virt")


@dataclass(slots=True)
class RecordSettings:
    db: Path
    host: str = "127.0.0.1"
    port: int = 8080
    reverse: str | None = None
    session: str = ""
    confdir: Path = DEFAULT_CONFDIR
    insecure: bool = False
    redact: bool = True
    config: Path | None = None
    """virt.toml; None reads ./virt.toml when it exists."""
    max_body: int = DEFAULT_MAX_BODY
    """Request and response bodies past this many bytes (decoded or not) are refused."""
    compare_with: Path | None = None
    """Another recording set: each exchange it also holds is compared with it (virt drift)."""


_RECORDS_HTTP_ONLY = (
    "virt record records HTTP only; it relays no raw connection, which it could not record"
)


def record(settings: RecordSettings) -> None:
    """Record until SIGINT or SIGTERM. Raises VirtError, before listening, on bad input."""
    mode = ["regular"]
    if settings.reverse:
        mode = [f"reverse:{settings.reverse}"]
        _check_reachable(settings.reverse)
    check_port_free(settings.host, settings.port)
    config = read_config(settings.config)
    rules = RedactRules.from_config(config)
    ca = ensure_ca(settings.confdir)
    watch = None
    if settings.compare_with is not None:
        from virt.drift.watch import Watch

        watch = Watch(settings.compare_with)
    recorder = Recorder(on_recorded=watch, rules=rules)
    hints = TrustHints()
    extra: dict[str, Any] = {
        "virt_db": str(settings.db),
        "virt_session": settings.session,
        "virt_redact": settings.redact,
        **bounds_options(settings.max_body),
    }
    extra.update(upstream_trust())
    if settings.insecure:
        extra["ssl_insecure"] = True
    # opening the writer here turns a bad --db into a VirtError before anything listens
    Writer(settings.db).close()
    proxy = Proxy(
        ProxySettings(settings.host, settings.port, settings.confdir, mode, extra),
        [
            BodyBounds(settings.max_body),
            HttpOnly(_RECORDS_HTTP_ONLY, "virt record"),
            hints,
            recorder,
        ],
    )

    async def main() -> None:
        signalled = asyncio.Event()

        def on_signal() -> None:
            if signalled.is_set():  # a second Ctrl-C: stop now
                proxy.shutdown()
            signalled.set()

        with stop_on_signals(on_signal):
            running = spawn(proxy.run(), name="recording proxy")
            where = f"http://{settings.host}:{settings.port}"
            log.info("recording into %s; Ctrl-C stops", settings.db)
            if settings.reverse:
                log.info("reverse proxy for %s: clients call %s instead", settings.reverse, where)
            else:
                log.info("proxy %s: set HTTP_PROXY and HTTPS_PROXY to it", where)
                log.info("CA %s: trust it in clients (virt ca prints how)", ca.cert)
            waiting = spawn(signalled.wait(), name="stop signal")
            summary = spawn(_summaries(recorder), name="summary")
            await asyncio.wait([running, waiting], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            summary.cancel()
            if not running.done():
                hints.stop()  # clients cut off now did not hang up on the certificate
                await _stop_recording(proxy, recorder, running)
            await running
        log.info("stopped: %d interactions recorded into %s", recorder.recorded, settings.db)

    import mitmproxy.addons  # noqa: F401  # the proxy's own modules, loaded before start-up is set aside

    set_aside_startup()
    try:
        asyncio.run(main())  # mitmproxy's own choice of loop
    finally:
        if watch is not None:
            watch.close()


SUMMARY_EVERY_S = 10.0
"""How often the count recorded since the last summary is logged (at INFO, when any); a line
per interaction is DEBUG (-v)."""


async def _summaries(recorder: Recorder) -> None:
    before = recorder.recorded
    while True:
        await asyncio.sleep(SUMMARY_EVERY_S)
        if recorder.recorded > before:
            log.info("recorded %d in %.0f s", recorder.recorded - before, SUMMARY_EVERY_S)
        before = recorder.recorded


STOP_GRACE = 10.0
"""Seconds `virt record` waits, once told to stop, for the exchanges in flight to finish."""


async def _stop_recording(proxy: Proxy, recorder: Recorder, running: asyncio.Future[None]) -> None:
    """Stop taking connections, let the exchanges in flight be answered and committed (within
    STOP_GRACE; those still waiting on their upstream are answered 502), then stop the proxy."""
    while proxy.master is None and not running.done():  # told to stop while starting
        await asyncio.sleep(0.01)
    if proxy.master is None:
        return
    stop_listening(proxy.master)
    log.info("stopping: finishing the exchanges in flight (Ctrl-C again stops now)")
    left = await recorder.drain(STOP_GRACE)
    if left:
        log.warning(
            "%d exchanges still waited on their upstream after %.0fs: their clients get 502, "
            "and nothing of them is recorded",
            len(left),
            STOP_GRACE,
        )
        abort_upstreams(proxy.master, left)
        await recorder.drain(2.0)
        await answered(left, 2.0)
    await close_clients(proxy.master, 2.0)
    proxy.shutdown()


def _check_reachable(url: str) -> None:
    parts = urlsplit(url)
    hint = "write it as https://host[:port], e.g. https://api.example.com"
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"bad --reverse URL {url!r}", hint=hint)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError as e:  # a port that is not a number, or out of range
        raise ConfigError(f"bad --reverse URL {url!r}: {e}", hint=hint) from e
    try:
        socket.create_connection((parts.hostname, port), timeout=5).close()
    except OSError as e:
        raise UpstreamUnreachable(
            f"cannot reach {url}: {e.strerror or e}",
            hint="check the URL and that the service is up; nothing was recorded",
        ) from e
