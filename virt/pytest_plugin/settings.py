"""What the plugin does for a test: mode, database, strictness; from the marker, the command line
and [tool.virt] in pyproject.toml, in that order."""

from __future__ import annotations

import enum
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from virt.errors import ConfigError

DEFAULT_CONFDIR = "~/.mitmproxy"
"""Where virt keeps its CA unless told otherwise: the same default as `virt --confdir`."""


class Mode(enum.StrEnum):
    """How the plugin runs virt for a test. A misspelled mode fails loudly: running a suite
    against the real services by accident is worse than not running it."""

    REPLAY = "replay"
    """`virt serve`: answers come from the recordings only."""
    RECORD = "record"
    """`virt record`: every request reaches the real service and is recorded."""
    ONCE = "once"
    """`virt serve --passthrough`: replay what is recorded, record what is missing."""
    PASSTHROUGH = "passthrough"
    """`virt record` into a throw-away database: the real services through virt's proxy."""
    NONE = "none"
    """The plugin is off: no virt process, no variables set."""

    @classmethod
    def parse(cls, value: str, where: str) -> Mode:
        try:
            return cls(value)
        except ValueError:
            valid = ", ".join(m.value for m in cls)
            raise ConfigError(
                f"{where}: unknown virt mode {value!r}", hint=f"use one of {valid}"
            ) from None


@dataclass(frozen=True, slots=True)
class ProjectSettings:
    """[tool.virt] of the project's pyproject.toml; relative paths are from its folder."""

    mode: Mode = Mode.REPLAY
    db: Path | None = None
    recordings: Path = Path("recordings")
    strict: bool = False
    confdir: Path = field(default_factory=lambda: Path(DEFAULT_CONFDIR).expanduser())
    no_proxy: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    source: str = "defaults"

    KEYS = ("mode", "db", "recordings", "strict", "confdir", "no_proxy", "args")

    @classmethod
    def read(cls, rootpath: Path) -> ProjectSettings:
        """The settings of `rootpath/pyproject.toml`, or the defaults when it has none.

        An unknown key or a value of the wrong type is a ConfigError naming it: a misspelled
        `mode` must not quietly leave the suite replaying (or recording).
        """
        path = rootpath / "pyproject.toml"
        confdir = Path(os.environ.get("VIRT_CONFDIR") or DEFAULT_CONFDIR).expanduser()
        if not path.is_file():
            return cls(recordings=rootpath / "recordings", confdir=confdir)
        try:
            table = tomllib.loads(path.read_text(encoding="utf-8")).get("tool", {}).get("virt")
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as e:
            raise ConfigError(f"cannot read {path}: {e}", hint="fix the TOML") from e
        if table is None:
            return cls(recordings=rootpath / "recordings", confdir=confdir)
        where = f"{path} [tool.virt]"
        if not isinstance(table, dict):
            raise ConfigError(f"{where} is not a table", hint="write [tool.virt] with keys")
        unknown = sorted(set(table) - set(cls.KEYS))
        if unknown:
            raise ConfigError(
                f"{where}: unknown key {unknown[0]!r}", hint=f"known keys: {', '.join(cls.KEYS)}"
            )
        base = path.parent
        db = _text(table, "db", where)
        conf = _text(table, "confdir", where)
        return cls(
            mode=Mode.parse(_text(table, "mode", where) or "replay", f"{where} mode"),
            db=base / db if db else None,
            recordings=base / (_text(table, "recordings", where) or "recordings"),
            strict=_flag(table, "strict", where),
            confdir=(base / Path(conf).expanduser()) if conf else confdir,
            no_proxy=_texts(table, "no_proxy", where),
            args=_texts(table, "args", where),
            source=str(path),
        )


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What one test gets. Tests with equal settings share one virt process."""

    mode: Mode
    db: Path
    strict: bool
    confdir: Path
    args: tuple[str, ...] = field(default=())

    @property
    def key(self) -> tuple[str, str, bool, tuple[str, ...]]:
        return (self.mode.value, str(self.db), self.strict, self.args)


def for_test(
    project: ProjectSettings,
    module: str,
    *,
    option_mode: str | None,
    option_db: str | None,
    option_strict: bool,
    marker: dict[str, Any],
) -> RunSettings:
    """Settings for one test: its marker's arguments win over the command line, which wins
    over [tool.virt]. The default database is `<recordings>/<test module>.db`."""
    unknown = sorted(set(marker) - {"mode", "db", "strict"})
    if unknown:
        raise ConfigError(
            f"@pytest.mark.virt: unknown argument {unknown[0]!r}", hint="use mode, db or strict"
        )
    mode = project.mode
    if option_mode:
        mode = Mode.parse(option_mode, "--virt-mode")
    if "mode" in marker:
        mode = Mode.parse(str(marker["mode"]), "@pytest.mark.virt(mode=...)")
    db = project.db or project.recordings / f"{module}.db"
    if option_db:
        db = Path(option_db).absolute()
    if "db" in marker:
        db = project.recordings / str(marker["db"])
    strict = bool(marker.get("strict", option_strict or project.strict))
    return RunSettings(
        mode=mode, db=db.absolute(), strict=strict, confdir=project.confdir, args=project.args
    )


def _text(table: dict[str, Any], key: str, where: str) -> str | None:
    value = table.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{where}: {key} must be a string, got {value!r}")
    return value


def _flag(table: dict[str, Any], key: str, where: str) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{where}: {key} must be true or false, got {value!r}")
    return value


def _texts(table: dict[str, Any], key: str, where: str) -> tuple[str, ...]:
    value = table.get(key, [])
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: {key} must be a list of strings, got {value!r}")
    return tuple(value)
