"""The virt command line: `cli` is the click group with every command, `main` its entry point.

The group, logging and error translation live in virt.cli.group; one module per command family
beside it (ca, formats, record, scan, serve), and the options they share in virt.cli.options.
"""

from __future__ import annotations

from virt.cli.group import cli, main

__all__ = ["cli", "main"]
