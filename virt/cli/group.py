"""The virt command: a click group with every command, logging to stderr, and the one place that
prints errors."""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import click

from virt import __version__
from virt.cli.ca import ca_command
from virt.cli.drift import drift_command
from virt.cli.formats import export_command, import_command
from virt.cli.record import record_command
from virt.cli.scan import scan_command
from virt.cli.schema import schema_command
from virt.cli.serve import serve_command
from virt.errors import VirtError

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"]}


def setup_logging(verbose: int, quiet: bool) -> None:
    """Logs go to stderr: virt's at INFO (DEBUG with -v), mitmproxy's and uvicorn's at WARNING."""
    level = logging.WARNING if quiet else logging.DEBUG if verbose else logging.INFO
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.WARNING)
    logging.getLogger("virt").setLevel(level)
    for noisy in ("mitmproxy", "uvicorn", "uvicorn.error"):
        logging.getLogger(noisy).setLevel(logging.WARNING if verbose < 2 else logging.DEBUG)


# Every command is registered here, where the group is made, so `from virt.cli import cli` is the
# whole command line. Their modules import only what --help needs; each command imports its heavy
# parts (the servers, mitmproxy, the format readers) when it runs.
@click.group(
    context_settings=CONTEXT_SETTINGS,
    commands=[
        ca_command,
        drift_command,
        export_command,
        import_command,
        record_command,
        scan_command,
        schema_command,
        serve_command,
    ],
)
@click.version_option(__version__, "-V", "--version")
@click.option(
    "-v", "--verbose", count=True, help="More logging on stderr; -vv includes mitmproxy's."
)
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors on stderr.")
def cli(verbose: int, quiet: bool) -> None:
    """virt records the HTTP(S) calls a service makes, then stands in for those dependencies.

    \b
      virt record --db recordings/api.db --port 8080
      virt serve --db recordings/api.db --port 8000 --proxy-port 8080
      virt ca
    """
    setup_logging(verbose, quiet)


def main(argv: list[str] | None = None) -> Any:
    """Entry point: VirtErrors become `virt: message` plus a hint on stderr and exit status 1."""
    try:
        return cli.main(args=argv, prog_name="virt", standalone_mode=False)
    except VirtError as e:
        click.echo(f"virt: {e}", err=True)
        if e.hint:
            click.echo(f"  {e.hint}", err=True)
        sys.exit(1)
    except click.exceptions.Abort:
        sys.exit(130)
    except KeyboardInterrupt:
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except Exception as e:
        if os.environ.get("VIRT_DEBUG"):
            raise
        click.echo(
            f"virt: internal error: {type(e).__name__}: {e} "
            "(this is a bug; run with VIRT_DEBUG=1 to see the traceback)",
            err=True,
        )
        sys.exit(70)
