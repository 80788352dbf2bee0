"""virt serve's process: the direct door, the proxy door and the admin API, until SIGINT or
SIGTERM."""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import secrets
import socket
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn

from virt.admin.api import create_admin
from virt.capture.addon import default_session
from virt.capture.forward import Forwarder
from virt.config import read_config
from virt.errors import ConfigError, StoreReadOnly
from virt.limits import DEFAULT_MAX_BODY
from virt.match.engine import Engine
from virt.match.rules import Rules
from virt.mitm.certs import LeafCertificates
from virt.mitm.master import DEFAULT_CONFDIR, check_port_free, ensure_ca
from virt.mitm.tasks import spawn
from virt.redact import Redactor, RedactRules
from virt.redact.key import ENV as SECRET_KEY_ENV
from virt.redact.key import secret_key
from virt.replay import clock
from virt.replay.app import ReplayApp
from virt.replay.protocol import ReplayHttp
from virt.replay.proxydoor import ProxyDoor
from virt.replay.respond import Replayer
from virt.replay.routing import Route, Router
from virt.replay.tokens import Minter
from virt.server.signals import stop_on_signals
from virt.store import Store
from virt.store.journal import JournalWriter
from virt.store.writer import Writer

log = logging.getLogger("virt")


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
    certificates = None if settings.proxy_port is None else LeafCertificates(settings.confdir)
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
                http=ReplayHttp,
                log_config=None,
                access_log=False,
                server_header=False,
                date_header=False,
                lifespan="off",
            )
        )
        sock = _bind(settings.host, settings.port)
        proxy = proxy_sock = None
        if settings.proxy_port is not None and certificates is not None:
            proxy_app = ReplayApp(
                engine,
                Router(settings.routes, engine.origins),
                replayer=replayer,
                max_body=settings.max_body,
                door="proxy",
            )
            proxy = ProxyDoor(proxy_app, certificates)
            proxy_sock = _bind(settings.host, settings.proxy_port)

        def stop() -> None:
            server.should_exit = True
            if proxy is not None:
                proxy.shutdown()

        with stop_on_signals(stop):
            jobs: dict[str, Coroutine[Any, Any, None]] = {
                "direct door": server.serve(sockets=[sock])
            }
            if proxy is not None and proxy_sock is not None:
                jobs["proxy door"] = proxy.serve(proxy_sock)

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
            summary = spawn(_summaries(engine), name="summary")
            try:
                await _until_first_ends(jobs, stop)
            finally:
                summary.cancel()
                if forwarder is not None:
                    await forwarder.aclose()

    try:
        _run(main())
    finally:
        if certificates is not None:
            certificates.close()
        if writer is not None:
            writer.close()
        if journal_writer is not None:
            journal_writer.close()
        store.close()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop where it is installed (the doors' throughput nearly doubles on it),
    else on asyncio's own loop."""
    try:
        import uvloop
    except ImportError:  # uvloop has no Windows build
        asyncio.run(main)
    else:
        uvloop.run(main)


SUMMARY_EVERY_S = 10.0
"""How often the hits and misses since the last summary are logged (at INFO, when any)."""


async def _summaries(engine: Engine) -> None:
    """A line every SUMMARY_EVERY_S saying what was served since the last one: per-request lines
    are DEBUG (-v), misses WARNING."""
    before = engine.journal.counts()
    while True:
        await asyncio.sleep(SUMMARY_EVERY_S)
        now = engine.journal.counts()
        served = {k: n - before.get(k, 0) for k, n in sorted(now.items()) if n > before.get(k, 0)}
        if served:
            log.info(
                "served %d in %.0f s: %s",
                sum(served.values()),
                SUMMARY_EVERY_S,
                ", ".join(f"{n} {kind}" for kind, n in served.items()),
            )
        before = now


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
