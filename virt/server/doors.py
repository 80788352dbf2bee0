"""One serving process: the direct door, the proxy door and the admin API on one event loop.

`virt serve` runs this once, or in each of its --workers processes; what every process needs
and the parent worked out once (rules, the redaction key, the token minter) comes in `Shared`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import uvicorn
from rich.console import Console
from rich.table import Table

from virt.admin.api import create_admin
from virt.capture.addon import default_session
from virt.capture.forward import Forwarder
from virt.errors import StoreReadOnly
from virt.faults import FaultLog, Plan
from virt.match.engine import Engine
from virt.match.rules import Rules
from virt.mitm.certs import LeafCertificates
from virt.mitm.tasks import spawn
from virt.redact import Redactor
from virt.replay import clock
from virt.replay.app import ReplayApp
from virt.replay.idempotency import Idempotency
from virt.replay.protocol import ReplayHttp
from virt.replay.proxydoor import ProxyDoor
from virt.replay.respond import Replayer
from virt.replay.routing import Router
from virt.replay.tokens import Minter
from virt.schema.fallback import Fallback
from virt.schema.openapi import OpenApi, documents
from virt.server.loop import full_collections, gc_policy, run_loop
from virt.server.settings import ServeSettings
from virt.server.signals import stop_on_signals
from virt.server.warm import warm_up
from virt.state import MemoryState, SessionState, open_state
from virt.store import Store
from virt.store.journal import JournalWriter
from virt.store.writer import Writer
from virt.ui import add_ui

log = logging.getLogger("virt")

SUMMARY_EVERY_S = 10.0
"""How often the hits and misses since the last summary are logged (at INFO, when any)."""
MISSES_SHOWN = 50
"""Distinct misses in the table printed at stop."""


@dataclass(frozen=True, slots=True)
class Shared:
    """What the parent prepared for every serving process."""

    rules: Rules
    redactor: Redactor = field(repr=False)
    minter: Minter = field(repr=False)
    rules_source: str | None
    ca_cert: Path | None
    state: str | None = field(repr=False)
    immutable: bool = False
    """Open the recordings read-only and immutable (replicas sharing a Redis)."""
    faults: Plan | None = None
    """The fault plan of --fault and virt.toml (the admin API may replace it per process)."""
    idempotency_headers: tuple[str, ...] = ()
    """Idempotency key headers virt.toml adds to the usual ones."""


def _fallback(settings: ServeSettings) -> Callable[[Store, SessionState], Fallback] | None:
    """How the engine makes its fallback stage: none with --no-fallback, or when misses are
    passed through to the real upstream (a real answer beats a made-up one)."""
    if not settings.fallback or settings.passthrough:
        return None
    extra = tuple(settings.openapi)

    def make(store: Store, state: SessionState) -> Fallback:
        def reload() -> list[OpenApi]:
            return documents(store, extra)

        return Fallback(store, state, reload(), reload)

    return make


def run_doors(settings: ServeSettings, shared: Shared, index: int = 0) -> None:
    """Serve until SIGINT or SIGTERM. `index` numbers the worker (0 when alone)."""
    state = open_state(shared.state)
    try:
        store = open_for_serving(settings.db, settings.passthrough, shared.immutable)
    except BaseException:
        state.close()
        raise
    engine = Engine(store, shared.rules, state, _fallback(settings))
    if index == 0:
        _read_ahead(settings.db)
    closing: list[Any] = []
    if settings.journal:
        if store.readonly:
            state.close()
            store.close()
            raise StoreReadOnly(
                f"{settings.db} is read-only: the journal cannot be persisted there",
                hint="drop --journal, or serve a writable copy",
            )
        journal_writer = JournalWriter(settings.db)
        closing.append(journal_writer)
        engine.journal.sink = lambda served: journal_writer.put(served.row())
    writer = Writer(settings.db) if settings.passthrough else None
    if writer is not None:
        closing.append(writer)
    certificates = None
    if settings.proxy_port is not None:
        certificates = LeafCertificates(settings.confdir)
        closing.append(certificates)
    try:
        with gc_policy():
            run_loop(_serve(settings, shared, engine, writer, certificates, index))
    finally:
        for thing in closing:
            thing.close()
        store.close()
        with contextlib.suppress(Exception):  # the state is away: said when it went
            engine.journal.share()  # the last answers, before the state writes what it holds
        state.close()


async def _serve(
    settings: ServeSettings,
    shared: Shared,
    engine: Engine,
    writer: Writer | None,
    certificates: LeafCertificates | None,
    index: int,
) -> None:
    forwarder = None
    if writer is not None:
        session = "passthrough-" + default_session().removeprefix("record-")
        forwarder = Forwarder(
            writer,
            session,
            verify=not settings.insecure,
            redactor=shared.redactor,
            max_body=settings.max_body,
        )
    alone = isinstance(engine.state, MemoryState)  # no other process to tell a new plan
    faults = FaultLog(shared.faults, state=None if alone else engine.state)
    engine.followers.append(faults.follow)
    replayer = Replayer(
        engine,
        forward=forwarder,
        redact=shared.redactor.request,
        tokens=shared.minter.apply,
        shift=clock.shift if settings.shift_time else None,
        faults=faults,
        idempotency=Idempotency(engine.state, engine.store, shared.idempotency_headers),
        latency=settings.latency,
    )
    admin = create_admin(
        engine,
        token=settings.admin_token,
        probes_only=not settings.admin,
        rules_source=shared.rules_source,
        redact=shared.redactor.interaction,
        host=settings.host,
        max_body=settings.max_body,
        faults=faults,
    )
    if settings.admin:
        add_ui(admin)  # the web page, under the admin API's access rule
    app = ReplayApp(
        engine,
        Router(settings.routes, engine.origins),
        admin=admin,
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
    several = settings.workers > 1
    sock = bind(settings.host, settings.port, several)
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
        proxy_sock = bind(settings.host, settings.proxy_port, several)

    def stop() -> None:
        server.should_exit = True
        if proxy is not None:
            proxy.shutdown()

    with stop_on_signals(stop):
        jobs: dict[str, Coroutine[Any, Any, None]] = {"direct door": server.serve(sockets=[sock])}
        if proxy is not None and proxy_sock is not None:
            jobs["proxy door"] = proxy.serve(proxy_sock)
        if index == 0:
            log.info(
                "serving %d interactions from %s; direct http://%s:%d%s%s%s",
                engine.store.count(),
                settings.db,
                settings.host,
                sock.getsockname()[1],
                f"; proxy http://{settings.host}:{settings.proxy_port} (CA {shared.ca_cert})"
                if proxy
                else "",
                "; passthrough on" if forwarder else "",
                f"; {settings.workers} workers" if several else "",
            )
        summary = spawn(_summaries(engine), name="summary")
        collections = spawn(full_collections(), name="full garbage collections")
        warming = spawn(warm_up(engine), name="cache warm-up")
        try:
            await _until_first_ends(jobs, stop)
        finally:
            summary.cancel()
            collections.cancel()
            warming.cancel()
            _report_misses(engine, index if several else None)
            if forwarder is not None:
                await forwarder.aclose()


def _read_ahead(db: Path) -> None:
    """Ask the kernel to read the recordings into its page cache in the background, so that a
    request for a recording nobody asked for yet does not hold up the event loop on the disk."""
    advise = getattr(os, "posix_fadvise", None)
    if advise is None:  # macOS, Windows: pages come in as they are read
        return
    try:
        fd = os.open(db, os.O_RDONLY)
    except OSError:
        return
    try:
        advise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
    except OSError as e:
        log.debug("no read-ahead for %s: %s", db, e)
    finally:
        os.close(fd)


def open_for_serving(db: Path, passthrough: bool, immutable: bool = False) -> Store:
    """Read-write when possible (passthrough, admin edits); read-only on a read-only mount, and
    read-only and immutable for replicas (nothing may write the file they share)."""
    if immutable:
        return Store.open(db, readonly=True, immutable=True)
    try:
        return Store.open(db, create=passthrough)
    except StoreReadOnly:
        if passthrough:
            raise
        log.warning("%s is read-only: serving it as is", db)
        return Store.open(db, readonly=True)


async def _summaries(engine: Engine) -> None:
    """A line every SUMMARY_EVERY_S saying what this process served since the last one:
    per-request lines are DEBUG (-v), misses WARNING."""
    before = engine.journal.counts_here()
    while True:
        await asyncio.sleep(SUMMARY_EVERY_S)
        now = engine.journal.counts_here()
        served = {k: n - before.get(k, 0) for k, n in sorted(now.items()) if n > before.get(k, 0)}
        if served:
            log.info(
                "served %d in %.0f s: %s",
                sum(served.values()),
                SUMMARY_EVERY_S,
                ", ".join(f"{n} {kind}" for kind, n in served.items()),
            )
        before = now


def _report_misses(engine: Engine, worker: int | None) -> None:
    """At stop, a table on stderr of every distinct request that got a miss, with why and its
    nearest recording: clients hide a 599 (pip says "no matching distribution", git "error:
    599"), so the server says it where a person looks."""
    misses, untold = engine.journal.misses()
    if not misses or not log.isEnabledFor(logging.WARNING):
        return
    who = f" (worker {worker})" if worker is not None else ""
    total = sum(m.count for m in misses) + untold
    table = Table(
        title=f"virt serve{who}: {total} misses, {len(misses)} distinct requests",
        title_justify="left",
        show_lines=False,
    )
    table.add_column("misses", justify="right")
    table.add_column("request", overflow="fold")
    table.add_column("nearest", justify="right")
    table.add_column("why", overflow="fold")
    for m in misses[:MISSES_SHOWN]:
        nearest = f"#{m.nearest}" if m.nearest is not None else "-"
        table.add_row(str(m.count), f"{m.method} {m.url}", nearest, m.why)
    console = Console(stderr=True)
    if not console.is_terminal:  # a log file: whole URLs on one line each, for grep
        console = Console(stderr=True, width=200)
    console.print(table)
    if len(misses) > MISSES_SHOWN or untold:
        left = len(misses) - MISSES_SHOWN if len(misses) > MISSES_SHOWN else 0
        console.print(
            f"... and {left} more distinct requests, {untold} more misses not told apart; "
            "GET /__virt/journal?match=miss lists the latest"
        )


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


def bind(host: str, port: int, shared: bool = False) -> socket.socket:
    """A listening socket on host:port; `shared` lets the other workers listen on the same port
    (SO_REUSEPORT: the kernel spreads new connections among them)."""
    sock = bound(host, port, shared)
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def bound(host: str, port: int, shared: bool = False) -> socket.socket:
    """A TCP socket bound to host:port, not listening yet (see `bind`)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY on accepted connections only for a socket
    # that says it is TCP. Without it, uvicorn's second write of a reply (the body) waits for
    # the client's delayed ACK: about 40 ms per request on a kept-alive connection.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if shared:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock
