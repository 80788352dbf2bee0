"""open_state: the session-state backend a URL names (--state, VIRT_STATE)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from virt.errors import ConfigError
from virt.state.base import SessionState, shown
from virt.state.memory import MemoryState

FORMS = "redis://HOST:PORT/N, rediss://HOST:PORT/N, sqlite:///PATH or a file path"

_OURS = ("namespace", "ttl")
"""Query parameters of a redis:// URL that virt reads; the others go to redis-py."""


def open_state(url: str | None) -> SessionState:
    """The state `url` names: None or "memory" keeps it in this process; `sqlite:///PATH` or a
    path, a file the workers of one machine share; `redis://` or `rediss://` (optionally
    `?namespace=NAME&ttl=SECONDS`), a Redis that replicas share. A bad URL is a ConfigError
    naming it (without its password)."""
    if url is None or url == "memory":
        return MemoryState()
    scheme = url.partition("://")[0].lower() if "://" in url else ""
    if scheme in ("redis", "rediss"):
        return _redis(url)
    if scheme == "sqlite":
        path = url[len("sqlite://") :]
        if not path.strip("/"):
            raise ConfigError(f"bad state URL {url}: no file", hint="use sqlite:///PATH")
        return _sqlite(Path(path[1:] if path.startswith("//") else path))
    if scheme:
        raise ConfigError(f"unknown state URL {shown(url)}", hint=f"use {FORMS}")
    if not url:
        raise ConfigError("empty state URL", hint=f"use {FORMS}, or leave --state out")
    return _sqlite(Path(url))


def _sqlite(path: Path) -> SessionState:
    from virt.state.sqlite import SqliteState

    return SqliteState(path)


def _redis(url: str) -> SessionState:
    from virt.state.redis import DEFAULT_TTL, RedisState

    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as e:
        raise ConfigError(f"bad state URL {shown(url)}: {e}", hint=f"use {FORMS}") from e
    if not parts.hostname:
        raise ConfigError(f"bad state URL {shown(url)}: no host", hint=f"use {FORMS}")
    query = parse_qsl(parts.query, keep_blank_values=True)
    ours = {k: v for k, v in query if k in _OURS}
    rest = urlunsplit(parts._replace(query=urlencode([(k, v) for k, v in query if k not in _OURS])))
    try:
        ttl = int(ours["ttl"]) if "ttl" in ours else None
    except ValueError as e:
        raise ConfigError(
            f"bad state URL {shown(url)}: ttl={ours['ttl']!r} is not a number of seconds"
        ) from e
    return RedisState(
        rest,
        namespace=ours.get("namespace", "default"),
        ttl=DEFAULT_TTL if ttl is None else ttl,
    )
