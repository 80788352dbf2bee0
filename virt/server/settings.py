"""ServeSettings: everything `virt serve` is told, whichever process runs a door."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from virt.limits import DEFAULT_MAX_BODY
from virt.mitm.master import DEFAULT_CONFDIR
from virt.replay.routing import Route


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
    admin: bool = True
    """False (--no-admin) keeps only /__virt/health and /__virt/ready of the admin API: no
    token needed on any address, nothing to read or change."""
    journal: bool = False
    config: Path | None = None
    """virt.toml; None reads ./virt.toml when it exists."""
    shift_time: bool = False
    max_body: int = DEFAULT_MAX_BODY
    """Request bodies past this many bytes (decoded or not) are answered 413."""
    workers: int = 1
    """Processes answering on the same ports (SO_REUSEPORT), sharing per-session state."""
    state: str | None = field(default=None, repr=False)  # a Redis URL may hold a password
    """Where per-session state lives (virt.state.open_state): None is this process's memory,
    or, with several workers, a state file made for the run."""
    fallback: bool = True
    """Answer unrecorded requests on known routes from templates and schemas (virt.schema);
    False keeps them misses (--no-fallback)."""
    faults: tuple[str, ...] = ()
    """--fault rules, after virt.toml's [[fault]] ones (virt.faults, docs/faults.md)."""
    fault_seed: int | None = None
    """--fault-seed; None takes virt.toml's [faults] seed, else 0."""
    latency: float | None = None
    """--latency: each recording answered after its recorded duration times this; None
    answers at once."""
    openapi: tuple[Path, ...] = ()
    """OpenAPI documents given with --openapi (VIRT_OPENAPI), validated by the CLI; loaded at
    start with the ones stored in the database (virt.schema.openapi.documents)."""
