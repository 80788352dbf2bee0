"""virt serve's process (or processes, with --workers): checks, then the doors until SIGINT or
SIGTERM."""

from __future__ import annotations

import contextlib
import dataclasses
import ipaddress
import logging
import os
import secrets
import shutil
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

from virt.config import read_config
from virt.errors import ConfigError, VirtError
from virt.faults import configured_plan
from virt.match.engine import Engine
from virt.match.rules import Rules
from virt.mitm.master import check_port_free, ensure_ca
from virt.redact import Redactor, RedactRules
from virt.redact.key import ENV as SECRET_KEY_ENV
from virt.redact.key import secret_key
from virt.replay.idempotency import configured_headers
from virt.replay.tokens import Minter
from virt.server.doors import Shared, bound, open_for_serving, run_doors
from virt.server.settings import ServeSettings
from virt.server.workers import run_workers
from virt.state import MemoryState

log = logging.getLogger("virt")

__all__ = ["ServeSettings", "serve"]


def serve(settings: ServeSettings) -> None:
    """Serve recordings on the direct door (and the proxy door) until SIGINT or SIGTERM, in one
    process or in `settings.workers`."""
    if settings.admin and not settings.admin_token and not _is_loopback(settings.host):
        raise ConfigError(
            f"--host {settings.host} exposes the admin API beyond this machine without a token",
            hint="set --admin-token or VIRT_ADMIN_TOKEN, or switch the admin API off with "
            "--no-admin or VIRT_NO_ADMIN=1 (the replay routes stay open)",
        )
    if settings.workers < 1:
        raise ConfigError(f"--workers {settings.workers}: give 1 or more")
    check_port_free(settings.host, settings.port)
    ca_cert = None
    if settings.proxy_port is not None:
        check_port_free(settings.host, settings.proxy_port)
        ca_cert = ensure_ca(settings.confdir).cert
    config = read_config(settings.config)
    rules = Rules.from_dict(
        {k: v for k, v in config.data.items() if k in ("match", "route")},
        str(config.path or "rules"),
    )
    faults = configured_plan(config.data, settings.faults, settings.fault_seed, config.source)
    idempotency_headers = configured_headers(config.data, config.source)
    if config.path is not None:
        log.info("matching rules from %s: %d route rules", config.path, len(rules.routes))
    if faults is not None:
        log.info("fault plan: %s", "; ".join(r.text for r in faults.rules))
    replicated = (settings.state or "").startswith(("redis://", "rediss://"))
    _check_recordings(settings, replicated)
    shared = Shared(
        rules=rules,
        # the key after the database checked out
        redactor=Redactor(_serving_key(settings.db), RedactRules.from_config(config)),
        minter=Minter.load(settings.confdir),
        rules_source=str(config.path) if config.path else None,
        ca_cert=ca_cert,
        state=settings.state,
        immutable=replicated,
        faults=faults,
        idempotency_headers=idempotency_headers,
    )
    if settings.workers == 1:
        run_doors(settings, shared)
        return
    with _ports_held(settings) as held, _state_for_workers(settings.state) as state:
        shared = dataclasses.replace(shared, state=state)
        code = run_workers(settings.workers, lambda index: run_doors(held, shared, index))
    if code != 0:
        raise VirtError(f"virt serve stopped: a worker failed (exit status {code}; see above)")


def _check_recordings(settings: ServeSettings, replicated: bool) -> None:
    """Open the recordings once before any door opens: a bad file is one clear error, and
    interactions recorded before canonical matching get their keys."""
    store = open_for_serving(settings.db, settings.passthrough, immutable=replicated)
    try:
        engine = Engine(store, state=MemoryState())
        if not store.readonly and (filled := engine.backfill()):
            log.info("indexed %d interactions recorded before canonical matching", filled)
    finally:
        store.close()


@contextlib.contextmanager
def _ports_held(settings: ServeSettings) -> Iterator[ServeSettings]:
    """The settings with the ports the workers share: held by the parent (bound, never
    listening) while they run, so that port 0 means one port for all of them."""
    held: list[socket.socket] = []
    try:
        port = _hold(settings.host, settings.port, held)
        proxy_port = None
        if settings.proxy_port is not None:
            proxy_port = _hold(settings.host, settings.proxy_port, held)
        yield dataclasses.replace(settings, port=port, proxy_port=proxy_port)
    finally:
        for sock in held:
            sock.close()


def _hold(host: str, port: int, held: list[socket.socket]) -> int:
    sock = bound(host, port, shared=True)
    held.append(sock)
    return int(sock.getsockname()[1])


@contextlib.contextmanager
def _state_for_workers(url: str | None) -> Iterator[str]:
    """`url`, or a state file made for this run (removed after it) that the workers share."""
    if url is not None:
        yield url
        return
    folder = tempfile.mkdtemp(prefix="virt-state-")  # mode 0700
    try:
        yield str(Path(folder) / "state.db")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


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


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name: it may resolve to anything
