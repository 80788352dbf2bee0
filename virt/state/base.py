"""What every session-state backend offers: the SessionState and ServedLog protocols and their
bounds.

A session is a client's X-Virt-Session, else its address. Its state is where it stands in each
recorded sequence (a cursor, `session\\0sequence`) and, for #16's fallback creates, a few small
named records. Workers of one machine share it through a state file, replicas through Redis, so a
session's requests may land on any of them and still walk its sequences in order.
"""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit, urlunsplit

from virt.errors import StateLimit

MAX_SESSIONS = 10_000
"""Sessions kept in memory or in a state file; the least recently used is forgotten first.
Redis forgets a session instead when it has been idle for the TTL."""

MAX_RECORDS = 1_000
"""Named records one session may hold (fallback creates): a client cannot fill the state."""

MAX_RECORD_BYTES = 64 * 1024
"""Largest record value, and largest record name in characters is MAX_NAME_CHARS."""

MAX_NAME_CHARS = 1_024

SERVED_KEPT = 1_000
"""Served entries a shared journal keeps, as the in-memory journal does."""


class SessionState(Protocol):
    """Per-session state shared by every process that serves one set of recordings."""

    url: str
    """Where the state lives, for logs: never shows a password."""

    def advance(self, cursor: str) -> int:
        """The position of `cursor` (`session\\0sequence`), moved one on for the next call."""
        ...

    def clear(self) -> None:
        """Forget every session: its positions and its records (POST /__virt/reset)."""
        ...

    def put(self, session: str, name: str, value: bytes) -> None:
        """Keep `value` under `name` for `session`; raises StateLimit past the bounds."""
        ...

    def get(self, session: str, name: str) -> bytes | None:
        """The value kept under `name` for `session`, None when there is none."""
        ...

    def delete(self, session: str, name: str) -> bool:
        """Forget `name` for `session`; whether there was one."""
        ...

    def names(self, session: str, prefix: str = "") -> list[str]:
        """The names `session` keeps that start with `prefix`, sorted."""
        ...

    def generation(self) -> int:
        """How many times any process said the recordings or rules changed (`bump`): a process
        that sees it move drops what it keeps in memory about them."""
        ...

    def bump(self) -> int:
        """Say the recordings or rules changed; the new generation."""
        ...

    def served(self) -> ServedLog | None:
        """A journal shared with the other processes, or None when the process keeps its own."""
        ...

    def close(self) -> None:
        """Release connections and threads; waits for journal entries not yet written."""
        ...


class ServedLog(Protocol):
    """Served requests written by every process, read by any: the journal of all workers.

    Entries are opaque bytes to this layer (virt.match.journal encodes them), tagged with their
    match kind so reads can filter and counts can be kept.
    """

    started: str
    """When this log was first written to (ISO 8601 UTC): counts run from then."""

    def add(self, match: str, entry: bytes) -> None:
        """Queue one entry; never blocks on the backend (a thread writes it in a batch). An
        empty `entry` is counted only (an answer older than the entries kept)."""
        ...

    def newest(self, limit: int, match: str | None = None) -> list[tuple[int, bytes]]:
        """The newest entries first as (sequence number, entry), at most `limit`, optionally of
        one match kind; includes every entry this process added before the call."""
        ...

    def counts(self) -> dict[str, int]:
        """Entries added by match kind, by every process since `started`."""
        ...

    def clear(self) -> None:
        """Forget the entries (counts stay, as the in-memory journal's do)."""
        ...

    def close(self) -> None:
        """Write what is queued and stop the writing thread."""
        ...


def split(cursor: str) -> tuple[str, str]:
    """(session, sequence) of a cursor `session\\0sequence`."""
    session, _, sequence = cursor.partition("\0")
    return session, sequence


def check_record(name: str, value: bytes) -> None:
    """Refuse a record name or value past the bounds, naming which."""
    if len(name) > MAX_NAME_CHARS:
        raise StateLimit(
            f"record name of {len(name)} characters: session state keeps names up to "
            f"{MAX_NAME_CHARS}",
            hint="this is a bug in virt: record names are made by virt",
        )
    if len(value) > MAX_RECORD_BYTES:
        raise StateLimit(
            f"record {name[:80]!r} is {len(value)} bytes: session state keeps records up to "
            f"{MAX_RECORD_BYTES}",
            hint="the response is too large to be remembered for the session",
        )


def too_many(session: str) -> StateLimit:
    """The error for a session that already holds MAX_RECORDS records."""
    return StateLimit(
        f"session {session[:80]!r} already holds {MAX_RECORDS} records",
        hint="reset the state (POST /__virt/reset) or use a fresh X-Virt-Session",
    )


def shown(url: str) -> str:
    """`url` as logs and errors may show it: a password is replaced by ***."""
    parts = urlsplit(url)
    userinfo, at, hostport = parts.netloc.rpartition("@")
    if not at or ":" not in userinfo:
        return url
    user = userinfo.partition(":")[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{hostport}"))
