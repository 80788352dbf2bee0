"""virt import, virt export"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson

from virt.cli.options import config_option, db_option, no_redact_option
from virt.config import read_config
from virt.store import Filter

if TYPE_CHECKING:
    from virt.transfer import ImportReport

# virt.transfer (with every format reader) and rich's console, table and progress bar are
# imported inside the commands on purpose: together they add about 200 ms to `virt --help`.


@click.command("import")
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
    An OpenAPI 3.0 or 3.1 document (YAML or JSON) is validated and stored beside the
    recordings, for answers to requests that were never recorded.
    A file that cannot be read is reported with the entry that broke, and nothing of it is
    imported; the other files go on. Exit status 1 when any file failed. Secrets are replaced
    by placeholders on the way in, as when recording (--no-redact keeps them).

    \b
      virt import --db recordings/api.db cassettes/ fixtures/github.har
      virt import --db recordings/api.db --format wiremock src/test/resources/wiremock
    """
    from virt.transfer import Importer, files_to_import

    files = files_to_import(paths, fmt)  # an unknown --format fails before opening anything
    with (
        Importer(db, read_config(config), redact=not no_redact) as importer,
        _progress("importing", len(files)) as on_file,
    ):
        report = importer.run(files, format=fmt, on_file=on_file)
    if as_json:
        sys.stdout.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        _print_report(report)
    for problem in report.failed:
        click.echo(f"virt: cannot import {problem}", err=True)
    if report.failed:
        click.echo(f"virt: {len(report.failed)} file(s) could not be imported", err=True)
        sys.exit(1)


@contextmanager
def _progress(what: str, total: int) -> Iterator[Callable[[Path], None]]:
    """A progress bar on stderr, off when stderr is no terminal or under --quiet; yields the
    function to call as each file starts."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    err = Console(stderr=True)
    with Progress(
        TextColumn(what),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("{task.description}"),
        console=err,
        transient=True,
        disable=not err.is_terminal or click.get_current_context().find_root().params["quiet"],
    ) as progress:
        task = progress.add_task("", total=total)

        def on_file(path: Path) -> None:
            progress.update(task, advance=1, description=path.name)

        yield on_file


LISTED_ENTRIES = 20
"""Skipped entries the table report names; --json has more."""


def _print_report(report: ImportReport) -> None:
    from rich.console import Console
    from rich.table import Table

    from virt.transfer import SHOWN_IN_ALL

    out = Console(highlight=False, soft_wrap=True)
    for line in report.documents:
        out.print(line, markup=False)
    table = Table(title=f"imported {report.imported} interaction(s) from {report.files} file(s)")
    table.add_column("format")
    table.add_column("imported", justify="right")
    for name, n in sorted(report.by_format.items()):
        table.add_row(name, str(n))
    if report.by_format or not report.documents:  # only API descriptions: no empty table
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


@click.command("export")
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
    from virt.transfer import export_from

    n = export_from(db, fmt, output, Filter(host=host, session=session))
    click.echo(f"exported {n} interaction(s) to {output}", err=True)
