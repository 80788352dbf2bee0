"""One process per job: `record` runs the recording proxy; `serve` runs both doors and admin."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import signal
import socket
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import uvicorn

from virt.admin.api import create_admin
from virt.capture.addon import Recorder, default_session
from virt.capture.forward import Forwarder
from virt.config import read_config
from virt.errors import ConfigError, StoreReadOnly, UpstreamUnreachable
from virt.limits import DEFAULT_MAX_BODY
from virt.match.engine import Engine
from virt.match.rules import Rules
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
from virt.mitm.stop import abort_upstreams, close_clients, stop_listening
from virt.mitm.tasks import spawn
from virt.redact import Redactor, RedactRules
from virt.redact.key import ENV as SECRET_KEY_ENV
from virt.redact.key import secret_key
from virt.replay import clock
from virt.replay.app import ReplayApp
from virt.replay.proxy import NoUpstream, Responder, proxy_options
from virt.replay.respond import Replayer
from virt.replay.routing import Route, Router
from virt.replay.tokens import Minter
from virt.store import Store
from virt.store.journal import JournalWriter
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


@dataclass(slots=True)
class ServeSettings:
    db: Path
    host: str = "127.0.0.1"
    port: int = 8000
    proxy_port: int | None = 8080
    routes: Sequence[Route] = field(default_factory=list)
    passthrough: bool = False
    confdir: Path = DEFAULT_CONFDIR
    insecure: bool = False
    admin_token: str | None = field(default=None, repr=False)  # repr never shows a credential
    journal: bool = False
    config: Path | None = None
    """virt.toml; None reads ./virt.toml when it exists."""
    shift_time: bool = False
    max_body: int = DEFAULT_MAX_BODY
    """Request bodies past this many bytes (decoded or not) are answered 413."""


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
    recorder = Recorder(rules=rules)
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
        [BodyBounds(settings.max_body), HttpOnly(_RECORDS_HTTP_ONLY, "virt record"), recorder],
    )

    async def main() -> None:
        signalled = asyncio.Event()

        def on_signal() -> None:
            if signalled.is_set():  # a second Ctrl-C: stop now
                proxy.shutdown()
            signalled.set()

        with _stop_on_signals(on_signal):
            running = spawn(proxy.run(), name="recording proxy")
            where = f"http://{settings.host}:{settings.port}"
            log.info("recording into %s; Ctrl-C stops", settings.db)
            if settings.reverse:
                log.info("reverse proxy for %s: clients call %s instead", settings.reverse, where)
            else:
                log.info("proxy %s: set HTTP_PROXY and HTTPS_PROXY to it", where)
                log.info("CA %s: trust it in clients (virt ca prints how)", ca.cert)
            waiting = spawn(signalled.wait(), name="stop signal")
            await asyncio.wait([running, waiting], return_when=asyncio.FIRST_COMPLETED)
            waiting.cancel()
            if not running.done():
                await _stop_recording(proxy, recorder, running)
            await running
        log.info("stopped: %d interactions recorded into %s", recorder.recorded, settings.db)

    asyncio.run(main())


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
    await close_clients(proxy.master, 2.0)
    proxy.shutdown()


def serve(settings: ServeSettings) -> None:
    """Serve recordings on the direct door (and the proxy door) until SIGINT or SIGTERM."""
    if not settings.admin_token and not _is_loopback(settings.host):
        raise ConfigError(
            f"--host {settings.host} exposes the admin API beyond this machine without a token",
            hint="set --admin-token or VIRT_ADMIN_TOKEN (the replay routes stay open)",
        )
    check_port_free(settings.host, settings.port)
    if settings.proxy_port is not None:
        check_port_free(settings.host, settings.proxy_port)
        ca = ensure_ca(settings.confdir)
    config = read_config(settings.config)
    redact_with = RedactRules.from_config(config)
    rules = Rules.from_dict(
        {k: v for k, v in config.data.items() if k in ("match", "route")},
        str(config.path or "rules"),
    )
    if config.path is not None:
        log.info("matching rules from %s: %d route rules", config.path, len(rules.routes))
    store = _open_for_serving(settings.db, settings.passthrough)
    redactor = Redactor(_serving_key(settings.db), redact_with)  # after the database checks out
    minter = Minter.load(settings.confdir)
    engine = Engine(store, rules)
    if not store.readonly and (filled := engine.backfill()):
        log.info("indexed %d interactions recorded before canonical matching", filled)
    journal_writer = None
    if settings.journal:
        if store.readonly:
            raise StoreReadOnly(
                f"{settings.db} is read-only: the journal cannot be persisted there",
                hint="drop --journal, or serve a writable copy",
            )
        journal_writer = JournalWriter(settings.db)
        engine.journal.sink = lambda served: journal_writer.put(served.row())
    writer = Writer(settings.db) if settings.passthrough else None

    async def main() -> None:
        forwarder = None
        if writer is not None:
            session = "passthrough-" + default_session().removeprefix("record-")
            forwarder = Forwarder(
                writer,
                session,
                verify=not settings.insecure,
                redactor=redactor,
                max_body=settings.max_body,
            )
        replayer = Replayer(
            engine,
            forward=forwarder,
            redact=redactor.request,
            tokens=minter.apply,
            shift=clock.shift if settings.shift_time else None,
        )
        app = ReplayApp(
            engine,
            Router(settings.routes, engine.origins),
            admin=create_admin(
                engine,
                token=settings.admin_token,
                rules_source=str(config.path) if config.path else None,
                redact=redactor.interaction,
                host=settings.host,
                max_body=settings.max_body,
            ),
            replayer=replayer,
            max_body=settings.max_body,
        )
        server = _Uvicorn(
            uvicorn.Config(
                app,
                log_config=None,
                access_log=False,
                server_header=False,
                date_header=False,
                lifespan="off",
            )
        )
        sock = _bind(settings.host, settings.port)
        proxy = None
        if settings.proxy_port is not None:
            extra: dict[str, Any] = proxy_options(settings.max_body)
            proxy = Proxy(
                ProxySettings(
                    settings.host, settings.proxy_port, settings.confdir, ["regular"], extra
                ),
                [NoUpstream(), Responder(replayer, settings.max_body)],
            )

        def stop() -> None:
            server.should_exit = True
            if proxy is not None:
                proxy.shutdown()

        with _stop_on_signals(stop):
            jobs: dict[str, Coroutine[Any, Any, None]] = {
                "direct door": server.serve(sockets=[sock])
            }
            if proxy is not None:
                jobs["proxy door"] = proxy.run()
            log.info(
                "serving %d interactions from %s; direct http://%s:%d%s%s",
                store.count(),
                settings.db,
                settings.host,
                sock.getsockname()[1],
                f"; proxy http://{settings.host}:{settings.proxy_port} (CA {ca.cert})"
                if proxy
                else "",
                "; passthrough on" if forwarder else "",
            )
            try:
                await _until_first_ends(jobs, stop)
            finally:
                if forwarder is not None:
                    await forwarder.aclose()

    try:
        asyncio.run(main())
    finally:
        if writer is not None:
            writer.close()
        if journal_writer is not None:
            journal_writer.close()
        store.close()


def _serving_key(db: Path) -> bytes:
    """The redaction key the recordings were made with, so that requests redact to the same
    placeholders. A database recorded raw has none: one is made (or, on a read-only folder,
    a throwaway one used), and redaction only keeps secrets out of the journal."""
    try:
        return secret_key(db)
    except ConfigError as e:
        if os.environ.get(SECRET_KEY_ENV):  # a key set but refused: never swap in a throwaway
            raise
        log.warning("%s; requests carrying secrets may not match", e)
        return secrets.token_hex(32).encode()


def _open_for_serving(db: Path, passthrough: bool) -> Store:
    """Read-write when possible (passthrough, admin edits); read-only on a read-only mount."""
    try:
        return Store.open(db, create=passthrough)
    except StoreReadOnly:
        if passthrough:
            raise
        log.warning("%s is read-only: serving it as is", db)
        return Store.open(db, readonly=True)


async def _until_first_ends(jobs: dict[str, Coroutine[Any, Any, None]], stop: Any) -> None:
    """Run `jobs` (by name) together; when one ends (or fails), stop the rest and re-raise its
    error."""
    tasks = [spawn(job, name=name) for name, job in jobs.items()]
    _, pending = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    stop()
    if pending:
        await asyncio.wait(pending, timeout=10)
    for t in tasks:
        if t.done() and not t.cancelled() and t.exception() is not None:
            raise t.exception()  # type: ignore[misc]


class _Uvicorn(uvicorn.Server):
    """uvicorn without its own signal handling: virt stops both doors together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@contextlib.contextmanager
def _stop_on_signals(stop: Any) -> Iterator[None]:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop)
    try:
        yield
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only for a socket
    # that says it is TCP. Without it, uvicorn's second write of a reply (the body) waits for
    # the client's delayed ACK: about 40 ms per request on a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
