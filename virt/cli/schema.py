"""virt schema"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click
import orjson

from virt.cli.options import db_option
from virt.errors import OpenApiError, VirtError

if TYPE_CHECKING:
    from virt.schema.book import RouteBook, RouteProfile
    from virt.schema.routes import Route

# virt.schema (genson, jsonschema) and rich are imported inside the command: `virt --help`
# stays quick.

log = logging.getLogger("virt")

LISTED = 10
"""Routes an ambiguous ROUTE names in its error."""


@click.command("schema")
@db_option
@click.argument("route", required=False)
@click.option("--host", help="Only routes on this host (a name, or name:port).")
@click.option(
    "--limit",
    type=click.IntRange(1, 100_000),
    default=1000,
    show_default=True,
    help="Routes shown or written at most.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object per route.")
@click.option(
    "--openapi",
    is_flag=True,
    help="Write what the routes taught as an OpenAPI 3.1 document (YAML; JSON for -o *.json).",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="With --openapi: the file to write instead of stdout.",
)
@click.option("--title", help="With --openapi: the document's title. Default: the --db name.")
def schema_command(
    db: Path,
    route: str | None,
    host: str | None,
    limit: int,
    as_json: bool,
    openapi: bool,
    output: Path | None,
    title: str | None,
) -> None:
    """Show the JSON Schemas virt learned per route from the recordings in --db.

    Without ROUTE, a table of the routes: method, URL template, recordings, the success status,
    and whether their answers are structured (JSON), which a fallback answer needs. With
    ROUTE (a part of the route's name, or METHOD /path/template), that route's request, query
    and response schemas as JSON. With --openapi, everything as one OpenAPI 3.1 document.

    \b
      virt schema --db recordings/api.db
      virt schema --db recordings/api.db 'GET /users/{id}'
      virt schema --db recordings/api.db --openapi -o api.yaml
    """
    from virt.schema.book import RouteBook
    from virt.schema.routes import describe, exact, find, profile
    from virt.store import Store

    if output is not None and not openapi:
        raise click.UsageError("-o/--output writes the --openapi document: give --openapi")
    if title is not None and not openapi:
        raise click.UsageError("--title names the --openapi document: give --openapi")
    store = Store.open(db, readonly=True)
    try:
        found = find(store, route, host)
        routes = found.routes
        if route is not None and not routes:
            raise VirtError(
                f"no recorded route matches {route!r}" + (f" on {host}" if host else ""),
                hint=f"virt schema --db {db} lists the recorded routes",
            )
        if found.truncated or len(routes) > limit:
            log.warning(
                "showing %d route(s) of %s: give ROUTE, --host or --limit",
                min(limit, len(routes)),
                f"more than {len(routes)}" if found.truncated else len(routes),
            )
        routes = routes[:limit]
        book = RouteBook(store)
        if openapi:
            _write_openapi(book, routes, title or db.stem, output, found.truncated)
            return
        if route is not None and not as_json:
            chosen = exact(routes, route)
            if len(chosen) > 1:
                names = "; ".join(r.name for r in chosen[:LISTED])
                more = f" and {len(chosen) - LISTED} more" if len(chosen) > LISTED else ""
                raise VirtError(
                    f"{route!r} matches {len(chosen)} routes: {names}{more}",
                    hint="give METHOD and the path template, or --json for all of them",
                )
            shown = profile(book, chosen[0])
            if shown is None:
                raise VirtError(f"the recordings of {chosen[0].name} were deleted meanwhile")
            data = orjson.dumps(describe(shown), option=orjson.OPT_INDENT_2)
            sys.stdout.write(data.decode() + "\n")
            return
        profiles = [p for p in (profile(book, r) for r in routes) if p is not None]
        if as_json:
            for p in profiles:
                sys.stdout.write(orjson.dumps(describe(p)).decode() + "\n")
            return
        _table(profiles)
    finally:
        store.close()


def _table(profiles: list[RouteProfile]) -> None:
    from rich.console import Console
    from rich.table import Table

    from virt.schema.routes import short_origin, why_not

    rows = []
    for p in profiles:
        why = why_not(p)
        rows.append(
            (
                p.method,
                short_origin(p.origin) + p.template,
                str(len(p.recordings)),
                str(p.success or "-"),
                "yes" if p.structured else "no",
                "yes" if why is None else "no",
            )
        )
    if not sys.stdout.isatty():
        # piped: whole lines, tab-separated, for grep and cut (a table would be cut to 80 columns)
        for row in rows:
            sys.stdout.write("\t".join(row) + "\n")
        return
    table = Table(title=f"{len(rows)} route(s)")
    for column in ("method", "route", "recordings", "success", "structured", "fallback"):
        table.add_column(column, justify="right" if column == "recordings" else "left")
    for row in rows:
        table.add_row(*row)
    Console(highlight=False, soft_wrap=True).print(table, markup=False)


def _write_openapi(
    book: RouteBook, routes: list[Route], title: str, output: Path | None, truncated: bool
) -> None:
    from virt.schema.export import dump, learned_openapi
    from virt.schema.openapi import load_openapi

    learned = learned_openapi(book, routes, title, truncated=truncated)
    as_json = output is not None and output.suffix.lower() == ".json"
    data = dump(learned.document, as_json=as_json)
    try:  # what virt writes, virt must read back: `virt import` and `virt serve --openapi`
        load_openapi(data, str(output or "<stdout>"))
    except OpenApiError as e:
        raise VirtError(
            f"the learned OpenAPI document does not validate, so it was not written: {e}",
            hint="this is a bug in virt: please report it with the route named above",
        ) from None
    for name in learned.opaque:
        log.info("left out %s: its recorded answers are not JSON", name)
    for why in learned.skipped:
        log.warning("left out %s", why)
    if output is None:
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        try:
            output.write_bytes(data)
        except OSError as e:
            raise VirtError(f"cannot write {output}: {e.strerror or e}") from None
        log.info(
            "wrote %s: %d operation(s) on %d path(s)",
            output,
            learned.operations,
            len(learned.document["paths"]),
        )
