"""The group holds every command as soon as it is imported, and --help loads no server."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.helpers import clean_env

COMMANDS = ["ca", "drift", "export", "import", "record", "scan", "schema", "serve"]

_LOADED_BY_HELP = """
import json, sys
from virt.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
print(json.dumps(sorted(sys.modules)))
"""


def _modules_loaded_by(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `virt ARGS` in-process."""
    done = subprocess.run(
        [sys.executable, "-c", _LOADED_BY_HELP, *args],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return set(json.loads(done.stdout.strip().rpartition("\n")[2]))


def test_importing_the_group_registers_every_command() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "from virt.cli import cli; print(*sorted(cli.commands))"],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == COMMANDS


def test_help_loads_neither_the_servers_nor_the_format_readers() -> None:
    """Start-up stays quick: each command loads its heavy parts only when it runs."""
    loaded = _modules_loaded_by("--help")
    heavy = {
        "virt.server",
        "virt.transfer",
        "virt.audit",
        "virt.formats",
        "virt.schema",
        "uvicorn",
        "rich",
    }
    assert not heavy & loaded, sorted(heavy & loaded)
    assert "mitmproxy.master" not in loaded, "the proxy loads only for record and serve"
    assert "virt.cli.scan" in loaded
