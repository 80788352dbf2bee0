"""virt import, virt export"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson

from virt.cli import cli
from virt.cli.options import config_option, db_option, no_redact_option

if TYPE_CHECKING:
    from virt.transfer import ImportReport, Problem

log = logging.getLogger("virt")


@cli.command("import")
@db_option
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option(
    "--format",
    "fmt",
    metavar="NAME",
    help="Read every file as this format instead of detecting each one.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON on stdout.")
@no_redact_option
@config_option
def import_command(
    db: Path,
    paths: tuple[Path, ...],
    fmt: str | None,
    as_json: bool,
    no_redact: bool,
    config: Path | None,
) -> None:
    """Import recordings from other tools into --db; folders are walked.

    Formats: HAR (also YAML and .zhar), VCR.py, Ruby VCR, Betamax, WireMock, Hoverfly,
    mitmproxy flows, Keploy, nock, go-vcr and Go httpreplay; each file's format is detected.
    A file that cannot be read is reported with the entry that broke, and nothing of it is
    imported; the other files go on. Exit status 1 when any file failed. Secrets are replaced
    by placeholders on the way in, as when recording (--no-redact keeps them).

    \b
      virt import --db recordings/api.db cassettes/ fixtures/github.har
      virt import --db recordings/api.db --format wiremock src/test/resources/wiremock
    """
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from virt import formats
    from virt.store import Store
    from virt.transfer import import_paths

    forced = formats.reader(fmt) if fmt is not None else None  # fails before opening anything
    files = list(formats.expand(paths, forced))
    from virt.config import read_config
    from virt.redact import Redactor, RedactRules
    from virt.redact.key import secret_key

    cfg = read_config(config)
    rules = RedactRules.from_config(cfg)
    store = Store.open(db)
    transform = None
    if no_redact:
        log.warning("importing raw traffic: secrets are written as they are (no redaction)")
    else:
        try:
            transform = Redactor(secret_key(db), rules).interaction
        except BaseException:
            store.close()
            raise
    err = Console(stderr=True)
    try:
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            console=err,
            transient=True,
            disable=not err.is_terminal or click.get_current_context().find_root().params["quiet"],
        ) as progress:
            task = progress.add_task("", total=len(files))

            def on_file(path: Path) -> None:
                progress.update(task, advance=1, description=path.name)

            report = import_paths(store, files, format=fmt, on_file=on_file, transform=transform)
    finally:
        store.close()
    if as_json:
        data = {
            "files": report.files,
            "imported": report.imported,
            "by_format": dict(report.by_format),
            "skipped": [vars_of(p) for p in report.skipped],
            "skipped_count": report.skipped_count,
            "skipped_unlisted": report.skipped_unlisted,
            "skipped_reasons": dict(report.reasons.most_common()),
            "failed": [vars_of(p) for p in report.failed],
        }
        sys.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_report(report)
    for problem in report.failed:
        click.echo(f"virt: cannot import {problem}", err=True)
    if report.failed:
        click.echo(f"virt: {len(report.failed)} file(s) could not be imported", err=True)
        sys.exit(1)


def vars_of(problem: Problem) -> dict[str, str]:
    return {k: getattr(problem, k) for k in ("path", "where", "why")}


LISTED_ENTRIES = 20
"""Skipped entries the table report names; --json has more."""


def _print_report(report: ImportReport) -> None:
    from rich.console import Console
    from rich.table import Table

    from virt.transfer import SHOWN_IN_ALL

    out = Console(highlight=False, soft_wrap=True)
    table = Table(title=f"imported {report.imported} interaction(s) from {report.files} file(s)")
    table.add_column("format")
    table.add_column("imported", justify="right")
    for name, n in sorted(report.by_format.items()):
        table.add_row(name, str(n))
    out.print(table)
    if report.skipped_count:
        out.print(f"skipped {report.skipped_count:,}:")
        for why, n in report.reasons.most_common():
            out.print(f"  {n:>5,}  {why}")
        # every file passed over by name, and the first entries: which ones, not only why
        files = [p for p in report.skipped if not p.where]
        entries = [p for p in report.skipped if p.where][:LISTED_ENTRIES]
        for problem in [*files, *entries]:
            out.print(f"  {problem}")
        if (unlisted := report.skipped_count - len(files) - len(entries)) > 0:
            out.print(f"  and {unlisted:,} more (--json lists the first {SHOWN_IN_ALL})")


@cli.command("export")
@db_option
@click.option(
    "--format", "fmt", required=True, metavar="NAME", help="har, vcr, wiremock or hoverfly."
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path),
    required=True,
    help="File to write (a folder for wiremock).",
)
@click.option("--host", help="Only interactions with this host.")
@click.option("--session", help="Only interactions from this recording session.")
def export_command(db: Path, fmt: str, output: Path, host: str | None, session: str | None) -> None:
    """Export the interactions in --db to another tool's format.

    \b
      virt export --db recordings/api.db --format har -o api.har
      virt export --db recordings/api.db --format wiremock -o src/test/resources/wiremock
    """
    from virt import formats
    from virt.store import Filter, Store
    from virt.transfer import export

    formats.writer(fmt)
    store = Store.open(db, readonly=True)
    try:
        n = export(store, fmt, output, Filter(host=host, session=session))
    finally:
        store.close()
    click.echo(f"exported {n} interaction(s) to {output}", err=True)


@cli.command("scan")
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
    from rich.console import Console
    from rich.table import Table

    from virt.audit import Located, Unreadable, scan_paths, scan_store
    from virt.config import read_config
    from virt.redact import RedactRules
    from virt.store import Store

    if db is None and not paths:
        raise click.UsageError("give --db, or recording files or folders to scan")
    cfg = read_config(config)
    rules = RedactRules.from_config(cfg)
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
