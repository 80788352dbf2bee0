"""virt drift"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from virt.cli.options import config_option, db_option

_FORMATS = ("json", "markdown", "junit")


def _methods(ctx: click.Context, param: click.Parameter, value: str | None) -> frozenset[str]:
    if not value:
        return frozenset()
    return frozenset(m.strip().upper() for m in value.split(",") if m.strip())


def _key(db: Path, update: bool) -> bytes:
    """The recordings' redaction key. --update needs it (its answers join the recordings); a
    check only redacts its report with it, so without one it uses a throwaway key rather than
    write a key file next to a database it only reads."""
    import secrets

    from virt.errors import ConfigError
    from virt.redact.key import secret_key

    try:
        return secret_key(db, create=False)
    except ConfigError:
        if update:
            raise
        return secrets.token_hex(32).encode()


@click.command("drift")
@db_option
@click.option("--host", "host_filter", metavar="HOST", help="Only recordings of this host.")
@click.option(
    "--route",
    metavar="GLOB",
    help="Only routes matching this glob: /items/{id}, 'GET /items*', '*/orders*'.",
)
@click.option(
    "--sample",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Distinct recorded requests re-sent per route (the first recorded).",
)
@click.option(
    "--methods",
    metavar="LIST",
    callback=_methods,
    help="Methods to re-send, comma-separated (GET,HEAD,OPTIONS,POST). Default: GET, HEAD "
    "and OPTIONS only, which change nothing upstream.",
)
@click.option("--only-safe", is_flag=True, help="Re-send only GET, HEAD and OPTIONS (the default).")
@click.option("--dry-run", is_flag=True, help="List what would be sent and skipped; send nothing.")
@click.option(
    "--ignore",
    metavar="GLOB",
    multiple=True,
    help="Never report this JSON path ($.meta.*), field name (updated_at) or header "
    "(Sunset). Repeatable; adds to [drift] ignore in virt.toml.",
)
@click.option(
    "--openapi",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    help="Check the recordings against this OpenAPI document instead, without any network.",
)
@click.option(
    "--format",
    "fmts",
    type=click.Choice(_FORMATS),
    multiple=True,
    help="Also write the report in this format, to the -o FILE in the same place "
    "(repeatable: --format junit -o drift.xml --format markdown -o drift.md); one format "
    "without -o goes to stdout.",
)
@click.option(
    "-o",
    "--output",
    "outputs",
    type=click.Path(path_type=Path, dir_okay=False),
    multiple=True,
    help="File for the --format in the same place.",
)
@click.option(
    "--fail-on",
    type=click.Choice(["compatible", "breaking"]),
    default="compatible",
    show_default=True,
    help="Lowest drift that fails (exit 1 compatible, 2 breaking); 'breaking' exits 0 on "
    "compatible drift.",
)
@click.option(
    "--update",
    is_flag=True,
    help="Record the live answers as a new recording session; the old ones stay, tagged "
    "superseded.",
)
@click.option("--session", default="", help="Session name for --update. Default: drift-<UTC time>.")
@click.option(
    "--timeout", type=float, default=30.0, show_default=True, help="Seconds per live request."
)
@click.option("--insecure", is_flag=True, help="Do not verify upstream TLS certificates.")
@config_option
def drift_command(
    db: Path,
    host_filter: str | None,
    route: str | None,
    sample: int,
    methods: frozenset[str],
    only_safe: bool,
    dry_run: bool,
    ignore: tuple[str, ...],
    openapi: Path | None,
    fmts: tuple[str, ...],
    outputs: tuple[Path, ...],
    fail_on: str,
    update: bool,
    session: str,
    timeout: float,
    insecure: bool,
    config: Path | None,
) -> None:
    """Re-send recorded requests to the live API and report, by route, how its answers drifted.

    Fields added, removed, retyped or made nullable, new enum values, arrays that became
    objects, changed statuses and the headers that matter; volatile values (ids, timestamps)
    never count. Redacted credentials are filled from the environment (VIRT_DRIFT_<HEADER>,
    or [drift.credentials] in virt.toml), never from the recordings. Exits 0 without drift, 1
    with compatible drift only, 2 with breaking drift or a request that could not be sent.

    \b
      API_TOKEN=... virt drift --db recordings/api.db
      virt drift --db recordings/api.db --format junit -o drift.xml --fail-on breaking
      virt drift --db recordings/api.db --openapi api.yaml
      virt drift --db recordings/api.db --update
    """
    from rich.console import Console

    from virt.config import read_config
    from virt.drift.check import SAFE_METHODS, Selection, check, ignore_rules
    from virt.drift.finding import Severity
    from virt.drift.report import Format, render, table
    from virt.drift.send import Credentials, Sender
    from virt.model import iso_utc
    from virt.redact import Redactor, RedactRules
    from virt.store import Store

    if only_safe and methods - SAFE_METHODS:
        raise click.UsageError("--only-safe and --methods with unsafe methods contradict")
    if len(outputs) != len(fmts) and not (len(fmts) == 1 and not outputs):
        raise click.UsageError("give one -o FILE per --format (or one --format, to stdout)")
    if update and (dry_run or openapi):
        raise click.UsageError("--update records live answers: not with --dry-run or --openapi")
    cfg = read_config(config)
    selection = Selection(
        host=host_filter,
        route=route,
        methods=methods or SAFE_METHODS,
        sample=sample,
        ignore=(*ignore, *ignore_rules(cfg)),
    )
    err = Console(stderr=True)
    store = Store.open(db, readonly=not update, create=False)
    try:
        if openapi is not None:
            from virt.drift.contract import against
            from virt.schema.openapi import load_openapi, read_file

            report = against(store, load_openapi(read_file(openapi), str(openapi)), selection)
        else:
            credentials = Credentials.from_config(cfg)
            redactor = Redactor(_key(db, update), RedactRules.from_config(cfg))
            sender = None if dry_run else Sender(timeout=timeout, verify=not insecure)
            try:
                report = check(store, selection, credentials, sender, redactor)
            finally:
                if sender is not None:
                    sender.close()
        table(report, err)
        if update:
            import time

            from virt.drift.check import update as record_live

            name = session or "drift-" + iso_utc(time.time())
            written, old = record_live(store, report, name)
            err.print(f"recorded {written} live answers in session {name}; {old} superseded")
    finally:
        store.close()
    threshold = Severity(fail_on)
    for i, fmt in enumerate(fmts):
        text = render(report, Format(fmt), threshold)
        if not outputs:
            sys.stdout.write(text)
        else:
            outputs[i].write_text(text, encoding="utf-8")
    sys.exit(report.exit_code(threshold))
