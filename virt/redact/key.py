"""The redaction key: kept outside the database, so a leaked recording reveals no secret.

`VIRT_SECRET_KEY` when set; else a file next to the database (`api.db.key`), created on first
use with mode 0600. Anyone with the key can test a guess against a placeholder, so keep it out
of the repository that holds the recordings.
"""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from virt.errors import ConfigError

ENV = "VIRT_SECRET_KEY"
MIN_LENGTH = 16
"""Fewer characters than this is refused, from the key file and from VIRT_SECRET_KEY alike."""
log = logging.getLogger("virt")


def key_path(db: Path) -> Path:
    return db.with_name(db.name + ".key")


def secret_key(db: Path, *, create: bool = True) -> bytes:
    """The redaction key for recordings in `db`: from VIRT_SECRET_KEY, else its key file,
    created with mode 0600 when missing (if `create`). Raises ConfigError naming the problem."""
    env = os.environ.get(ENV)
    if env:
        if len(env) < MIN_LENGTH:
            raise ConfigError(
                f"{ENV} is too short: it has {len(env)} characters, "
                f"a key needs at least {MIN_LENGTH}",
                hint=f"set it to a long random value, e.g. {ENV}=$(openssl rand -hex 32)",
            )
        return env.encode()
    path = key_path(db)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        if not create:
            raise ConfigError(
                f"no redaction key: {path} does not exist and {ENV} is not set",
                hint=f"set {ENV}, or put the key file recorded with {db.name} back",
            ) from None
        return _create(path)
    except OSError as e:
        raise ConfigError(f"cannot read the redaction key {path}: {e.strerror}") from e
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s can be read by other users: chmod 600 %s", path, path)
    key = data.strip()
    if len(key) < MIN_LENGTH:
        raise ConfigError(
            f"the redaction key {path} is too short", hint="delete it to make a new one"
        )
    return key


def _create(path: Path) -> bytes:
    key = secrets.token_hex(32).encode()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return secret_key(path.with_name(path.name.removesuffix(".key")))  # made meanwhile
    except OSError as e:
        raise ConfigError(
            f"cannot create the redaction key {path}: {e.strerror}",
            hint=f"set {ENV}, or record into a writable folder",
        ) from e
    with os.fdopen(fd, "wb") as f:
        f.write(key + b"\n")
    log.info("created the redaction key %s (keep it out of version control)", path)
    return key
