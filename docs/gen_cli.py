"""Paste each command's --help into docs/cli.md: .venv/bin/python docs/gen_cli.py [--check]

A block runs from `<!-- [[[help virt serve]]] -->` to `<!-- [[[end]]] -->`; everything between the
markers is replaced. Help is rendered by click's CliRunner at a fixed width of 100 columns with no
VIRT_* variables set, so the text is the same on every machine. tests/test_docs.py fails when
docs/cli.md differs from what this script would write.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from click.testing import CliRunner

from virt.cli import cli

CLI_MD = Path(__file__).resolve().with_name("cli.md")
WIDTH = 100
BLOCK = re.compile(
    r"(?P<start><!-- \[\[\[help (?P<command>[^\]]+)\]\]\] -->\n)"
    r"(?P<body>.*?)"
    r"(?P<end><!-- \[\[\[end\]\]\] -->)",
    re.DOTALL,
)


def help_text(command: str) -> str:
    """The --help output of `command`, written as on the command line: "virt serve"."""
    prog, *args = command.split()
    if prog != "virt":
        raise ValueError(f"help blocks name virt commands, not {command!r}")
    env: dict[str, str | None] = {"COLUMNS": str(WIDTH)}
    env.update({name: None for name in _envvars()})  # defaults, not this shell's settings
    result = CliRunner().invoke(
        cli, [*args, "--help"], prog_name="virt", env=env, terminal_width=WIDTH
    )
    if result.exit_code != 0:
        raise ValueError(f"{command} --help exited {result.exit_code}: {result.output}")
    return result.stdout


def render(text: str) -> str:
    """`text` with every help block replaced by the current help, in a fenced block."""

    def block(m: re.Match[str]) -> str:
        return f"{m['start']}```text\n{help_text(m['command'].strip())}```\n{m['end']}"

    return BLOCK.sub(block, text)


def _envvars() -> set[str]:
    names: set[str] = set()
    for command in [cli, *cli.commands.values()]:
        for param in command.params:
            envvar = getattr(param, "envvar", None)
            if isinstance(envvar, str):
                names.add(envvar)
            elif envvar:
                names.update(envvar)
    return names


def main(argv: list[str]) -> int:
    check = "--check" in argv
    text = CLI_MD.read_text(encoding="utf-8")
    new = render(text)
    if new == text:
        return 0
    if check:
        print(f"{CLI_MD} is out of date: run python docs/gen_cli.py", file=sys.stderr)
        return 1
    CLI_MD.write_text(new, encoding="utf-8")
    print(f"updated {CLI_MD}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
