"""Options shared by several commands."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from virt.errors import ConfigError
from virt.limits import parse_size

F = TypeVar("F", bound=Callable[..., Any])


def db_option(f: F) -> F:
    return click.option(
        "--db",
        type=click.Path(path_type=Path, dir_okay=True),
        required=True,
        envvar="VIRT_DB",
        help="The recordings database (SQLite). Env: VIRT_DB.",
    )(f)


def confdir_option(f: F) -> F:
    return click.option(
        "--confdir",
        type=click.Path(path_type=Path, file_okay=False),
        default=Path("~/.mitmproxy").expanduser(),
        show_default="~/.mitmproxy",
        envvar="VIRT_CONFDIR",
        help="Where the proxy's CA lives (shared with mitmproxy). Env: VIRT_CONFDIR.",
    )(f)


def host_option(default: str = "127.0.0.1") -> Callable[[F], F]:
    return click.option(
        "--host",
        default=default,
        show_default=True,
        envvar="VIRT_HOST",
        help="Address to listen on; 0.0.0.0 exposes virt to the network. Env: VIRT_HOST.",
    )


def config_option(f: F) -> F:
    return click.option(
        "--config",
        type=click.Path(path_type=Path, dir_okay=False),
        default=None,
        envvar="VIRT_CONFIG",
        help="Matching rules and settings (TOML; docs/matching.md). Default: ./virt.toml when it "
        "exists. Env: VIRT_CONFIG.",
    )(f)


def no_redact_option(f: F) -> F:
    return click.option(
        "--no-redact",
        is_flag=True,
        envvar="VIRT_NO_REDACT",
        help="Write secrets as they are instead of placeholders (tokens, cookies, keys). Only for "
        "recordings that never leave this machine. Env: VIRT_NO_REDACT.",
    )(f)


def _size(ctx: click.Context, param: click.Parameter, value: str | int) -> int:
    """A size in bytes from 32MB, 512k, 1G or 1048576."""
    if isinstance(value, int):
        return value
    try:
        return parse_size(value)
    except ConfigError as e:
        raise click.BadParameter(f"{e}: {e.hint}" if e.hint else str(e), ctx, param) from e


def max_body_option(help: str) -> Callable[[F], F]:
    return click.option(
        "--max-body",
        metavar="SIZE",
        default="32MB",
        callback=_size,
        show_default=True,
        envvar="VIRT_MAX_BODY",
        help=f"{help} SIZE takes k, M or G (binary units). Env: VIRT_MAX_BODY.",
    )


def openapi_documents(
    ctx: click.Context, param: click.Parameter, value: tuple[Path, ...]
) -> tuple[Path, ...]:
    """Refuse, as a bad option, an OpenAPI document that cannot be read or does not validate,
    naming the file, the place (line and column, or JSON pointer) and the rule."""
    if not value:
        return value
    from virt.errors import OpenApiError
    from virt.schema.openapi import load_openapi, read_file  # 0.1 s: only when given

    for path in value:
        try:
            load_openapi(read_file(path), str(path))
        except OpenApiError as e:
            raise click.BadParameter(str(e), ctx, param) from None
    return value
