"""Settings that several layers share: from the environment, and from virt.toml."""

from __future__ import annotations

import os
import ssl
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virt.errors import ConfigError

CA_FILE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Variables naming a CA bundle, in the order virt honours them (the first set one wins)."""


@dataclass(frozen=True, slots=True)
class UpstreamTrust:
    """Which CAs to trust for upstreams: a bundle file and/or a folder; None for public roots."""

    ca_file: str | None = None
    ca_dir: str | None = None

    @classmethod
    def from_env(cls) -> UpstreamTrust:
        """SSL_CERT_FILE, else REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE; plus SSL_CERT_DIR.

        As in curl, requests and OpenSSL, a bundle named here replaces the public roots.
        """
        ca_file = next(
            (v for var in CA_FILE_VARS if (v := os.environ.get(var)) and Path(v).is_file()), None
        )
        ca_dir = os.environ.get("SSL_CERT_DIR")
        return cls(ca_file, ca_dir if ca_dir and Path(ca_dir).is_dir() else None)

    def ssl_context(self) -> ssl.SSLContext | bool:
        """An SSL context for httpx, or True for its default (certifi) when nothing is set."""
        if self.ca_file is None and self.ca_dir is None:
            return True
        return ssl.create_default_context(cafile=self.ca_file, capath=self.ca_dir)


CONFIG_FILE = "virt.toml"
"""Read from the working directory when no --config is given and the file exists."""
CONFIG_TABLES = frozenset({"match", "route", "redact", "fault", "faults", "idempotency", "drift"})
"""Top-level tables of virt.toml (docs/matching.md)."""


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """Parsed virt.toml: `path` is None when there was none to read."""

    path: Path | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def source(self) -> str:
        """How messages name this config: its path, or virt.toml when there was none."""
        return str(self.path or CONFIG_FILE)

    @property
    def redact(self) -> dict[str, Any]:
        """The raw [redact] table, empty when absent; virt.redact parses it (RedactRules)."""
        table: dict[str, Any] = self.data.get("redact", {})
        return table


def read_config(path: Path | None) -> ConfigFile:
    """`path` (which must exist), else ./virt.toml when present, else an empty config.

    Raises ConfigError naming the file, and the line and column of a TOML syntax error.
    """
    if path is None:
        default = Path(CONFIG_FILE)
        if not default.is_file():
            return ConfigFile()
        path = default
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError as e:
        raise ConfigError(f"{path} does not exist", hint="pass --config PATH to virt.toml") from e
    except IsADirectoryError as e:
        raise ConfigError(f"{path} is a directory", hint="pass the virt.toml file itself") from e
    except OSError as e:
        raise ConfigError(f"cannot read {path}: {e.strerror}") from e
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not valid TOML: {e}") from e
    unknown = sorted(set(data) - CONFIG_TABLES)
    if unknown:
        raise ConfigError(
            f"{path}: unknown table {unknown[0]!r}; known: {', '.join(sorted(CONFIG_TABLES))}"
        )
    return ConfigFile(path, data)
