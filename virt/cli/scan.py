"""virt scan"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click
import orjson

from virt.cli.options import config_option
from virt.config import read_config
from virt.store import Store

log = logging.getLogger("virt")


@click.command("scan")
@click.option(
    "--db",
    type=click.Path(path_type=Path, dir_okay=False),
    envvar="VIRT_DB",
    help="A recordings database to scan. Env: VIRT_DB.",
)
@click.argument("paths", nargs=-1, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per finding.")
@config_option
def scan_command(
    db: Path | None, paths: tuple[Path, ...], as_json: bool, config: Path | None
) -> None:
    """Report secrets left in recordings: a database (--db) or recording files (PATHS).

    Finds what redaction replaces: credentials in headers, OAuth and signing fields, JWTs and
    well-known key shapes. Prints where each is, its kind and a masked excerpt on stdout. Exit
    status 1 when anything is found, so it can guard a commit or a CI step.

    \b
      virt scan --db recordings/api.db
      virt scan tests/cassettes/ fixtures/github.har
    """
    # late on purpose: virt.audit (with every format reader), virt.redact and rich's table add
    # about 200 ms to `virt --help` and the other commands
    from rich.console import Console
    from rich.table import Table

    from virt.audit import Located, Unreadable, scan_paths, scan_store
    from virt.redact import RedactRules

    if db is None and not paths:
        raise click.UsageError("give --db, or recording files or folders to scan")
    rules = RedactRules.from_config(read_config(config))
    found: list[Located] = []
    unreadable: list[Unreadable] = []
    if db is not None:
        store = Store.open(db, readonly=True)
        try:
            found.extend(scan_store(store, rules))
        finally:
            store.close()
    if paths:
        found.extend(scan_paths(paths, rules, unreadable))
    if as_json:
        for item in found:
            sys.stdout.write(orjson.dumps(item.as_dict()).decode() + "\n")
    elif found and not sys.stdout.isatty():
        # piped: whole lines, tab-separated, for grep and cut (a table would be cut to 80 columns)
        for item in found:
            f = item.finding
            sys.stdout.write(f"{item.location}\t{f.where}\t{f.kind}\t{f.excerpt}\n")
    elif found:
        table = Table(title=f"{len(found)} secret(s) found")
        for column in ("location", "where", "kind", "excerpt"):
            table.add_column(column)
        for item in found:
            f = item.finding
            table.add_row(item.location, f.where, f.kind, f.excerpt)
        Console(highlight=False, soft_wrap=True).print(table)
    for problem in unreadable:
        log.warning("not scanned: %s: %s", problem.path, problem.why)
    if found:
        click.echo(f"virt: {len(found)} secret(s) found", err=True)
        sys.exit(1)
    log.info("no secrets found")
