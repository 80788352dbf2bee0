"""The docs cover every command, option, setting, admin endpoint and column, and help is current."""

from __future__ import annotations

import importlib.util
import re
import tempfile
from pathlib import Path
from types import ModuleType

import click
import pytest

from virt.admin.api import create_admin
from virt.cli import cli
from virt.match.engine import Engine
from virt.store import Store
from virt.store.tables import INTERACTION_COLUMNS

DOCS = Path(__file__).resolve().parent.parent / "docs"


def _load_gen_cli() -> ModuleType:
    # by path: docs/ is not a package, and a "docs" package installed elsewhere must not shadow it
    spec = importlib.util.spec_from_file_location("virt_docs_gen_cli", DOCS / "gen_cli.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_cli = _load_gen_cli()
CLI_MD = (DOCS / "cli.md").read_text(encoding="utf-8")
CLI_PROSE = gen_cli.BLOCK.sub("", CLI_MD)
"""docs/cli.md without its generated help blocks: what a person wrote."""
STORAGE_MD = (DOCS / "storage.md").read_text(encoding="utf-8")
ADMIN_MD = (DOCS / "admin.md").read_text(encoding="utf-8")

COMMANDS = {"virt": cli} | {f"virt {name}": command for name, command in cli.commands.items()}


def _options(command: click.Command) -> list[str]:
    """The longest spelling of each option, --help aside: "--proxy-port", "--verbose"."""
    names = []
    for param in command.params:
        if isinstance(param, click.Option) and "--help" not in param.opts:
            names.append(max(param.opts, key=len))
    return names


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_every_command_has_a_section_and_a_help_block(command: str) -> None:
    assert re.search(rf"^##+ `{re.escape(command)}`$", CLI_PROSE, re.MULTILINE), (
        f"docs/cli.md has no section headed `{command}`"
    )
    assert f"<!-- [[[help {command}]]] -->" in CLI_MD, (
        f"docs/cli.md has no help block for {command}: add <!-- [[[help {command}]]] --> and "
        "<!-- [[[end]]] -->, then run python docs/gen_cli.py"
    )


@pytest.mark.parametrize(
    ("command", "option"),
    [(name, option) for name, command in sorted(COMMANDS.items()) for option in _options(command)],
)
def test_every_option_is_described_outside_the_help_text(command: str, option: str) -> None:
    assert f"`{option}" in CLI_PROSE, (
        f"docs/cli.md never mentions `{option}` of {command} outside the generated help"
    )


def test_every_environment_variable_is_listed() -> None:
    for envvar in sorted(gen_cli._envvars()):
        assert f"| `{envvar}` |" in CLI_PROSE, f"docs/cli.md does not list {envvar}"


def test_help_blocks_match_the_commands() -> None:
    assert gen_cli.render(CLI_MD) == CLI_MD, (
        "the help text in docs/cli.md is out of date: run python docs/gen_cli.py"
    )


def test_render_replaces_a_stale_help_block() -> None:
    fresh = gen_cli.render(CLI_MD)
    stale = fresh.replace("Show this message and exit.", "Show help.", 1)
    assert stale != fresh
    assert gen_cli.render(stale) == fresh


def _admin_endpoints() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(Path(tmp) / "docs.db")
        try:
            app = create_admin(Engine(store))  # routes only; none is called
        finally:
            store.close()
    paths = app.openapi()["paths"]
    return sorted(f"{method.upper()} {path}" for path, ops in paths.items() for method in ops)


@pytest.mark.parametrize("endpoint", _admin_endpoints())
def test_every_admin_endpoint_is_documented(endpoint: str) -> None:
    assert re.search(rf"^##+ `{re.escape(endpoint)}`$", ADMIN_MD, re.MULTILINE), (
        f"docs/admin.md has no section headed `{endpoint}`"
    )


@pytest.mark.parametrize("column", list(INTERACTION_COLUMNS))
def test_every_interaction_column_is_documented(column: str) -> None:
    assert re.search(rf"^\| `{column}` \|", STORAGE_MD, re.MULTILINE), (
        f"docs/storage.md has no row for interactions.{column}"
    )
