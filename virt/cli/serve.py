"""virt serve"""

from __future__ import annotations

from pathlib import Path

import click

from virt.cli.options import (
    confdir_option,
    config_option,
    db_option,
    host_option,
    max_body_option,
    openapi_documents,
)
from virt.replay.routing import Route


@click.command("serve")
@db_option
@click.option(
    "--mode",
    type=click.Choice(["replay", "passthrough", "record"]),
    metavar="MODE",
    default="replay",
    show_default=True,
    envvar="VIRT_MODE",
    help="replay: answer from the recordings only. passthrough: as --passthrough. record: run "
    "virt record on --proxy-port instead (no direct door, no admin API), as a container that "
    "records once would. Env: VIRT_MODE.",
)
@host_option()
@click.option(
    "-p",
    "--port",
    default=8000,
    show_default=True,
    envvar="VIRT_PORT",
    help="Direct door: clients use http://HOST:PORT as their base URL. Env: VIRT_PORT.",
)
@click.option(
    "--proxy-port",
    default=8080,
    show_default=True,
    envvar="VIRT_PROXY_PORT",
    help="Proxy door, for clients that use HTTP_PROXY/HTTPS_PROXY. Env: VIRT_PROXY_PORT.",
)
@click.option("--no-proxy", is_flag=True, help="Do not open the proxy door.")
@click.option(
    "--route",
    "routes",
    multiple=True,
    metavar="PREFIX=URL",
    help="Direct door: requests under PREFIX stand for URL (repeatable), "
    "e.g. --route /github=https://api.github.com.",
)
@click.option(
    "--passthrough",
    is_flag=True,
    envvar="VIRT_PASSTHROUGH",
    help="Forward requests with no recording to the real upstream and record the answer. "
    "Env: VIRT_PASSTHROUGH.",
)
@click.option("--insecure", is_flag=True, help="With --passthrough: do not verify upstream TLS.")
@click.option(
    "--no-fallback",
    is_flag=True,
    envvar="VIRT_NO_FALLBACK",
    help="Answer a request no recording answers with a 599 miss, even on a route the "
    "recordings know (by default such a request gets an answer made from the route's nearest "
    "recording and schema: X-Virt-Match: fallback). Env: VIRT_NO_FALLBACK=1.",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="RULE",
    help="Fail requests on purpose (repeatable), after virt.toml's [[fault]] rules: "
    "'[METHOD] PATH: ACTION [ATTEMPTS]', e.g. 'POST /v1/charges: 503 x2', "
    "'POST /v1/charges: after x1', 'GET /jobs/{id}: reset #1', '/v1/*: delay 2s 10%'. "
    "Attempts count per client session. See docs/faults.md.",
)
@click.option(
    "--fault-seed",
    type=int,
    envvar="VIRT_FAULT_SEED",
    metavar="N",
    help="Seed of the fault plan's fractions and drawn delays (default: virt.toml's [faults] "
    "seed, else 0): the same seed, session and attempt get the same fault. "
    "Env: VIRT_FAULT_SEED.",
)
@click.option(
    "--latency",
    default="none",
    show_default=True,
    envvar="VIRT_LATENCY",
    metavar="WHEN",
    callback=lambda _ctx, _param, value: _latency(value),
    help="Answer each recording after the time its upstream took when it was recorded "
    "(recorded), that time scaled (a FACTOR such as 0.5), or at once (none). Env: VIRT_LATENCY.",
)
@click.option(
    "--openapi",
    multiple=True,
    type=click.Path(path_type=Path, dir_okay=False),
    callback=openapi_documents,
    envvar="VIRT_OPENAPI",
    metavar="FILE",
    help="An OpenAPI 3.0 or 3.1 document (YAML or JSON) whose operations, examples and schemas "
    "answer requests no recording answers (repeatable), beside those stored by virt import. "
    "Env: VIRT_OPENAPI, paths separated by ':' (';' on Windows).",
)
@click.option(
    "--journal",
    is_flag=True,
    envvar="VIRT_JOURNAL",
    help="Also persist every answered request in the database's journal table, beyond the last "
    "1000 kept in memory for GET /__virt/journal. Env: VIRT_JOURNAL.",
)
@click.option(
    "--admin-token",
    envvar="VIRT_ADMIN_TOKEN",
    metavar="TOKEN",
    help="Require Authorization: Bearer TOKEN on the admin API (/__virt/). Needed when --host "
    "is not a loopback address. Env: VIRT_ADMIN_TOKEN.",
)
@click.option(
    "--no-admin",
    is_flag=True,
    envvar="VIRT_NO_ADMIN",
    help="Switch the admin API off but for /__virt/health and /__virt/ready, which need no "
    "token on any --host. Env: VIRT_NO_ADMIN=1.",
)
@click.option(
    "--shift-time",
    is_flag=True,
    envvar="VIRT_SHIFT_TIME",
    help="Move timestamps in replayed responses (Date, Expires, Last-Modified; JSON date-times "
    "and epoch times) by the time since recording. Env: VIRT_SHIFT_TIME.",
)
@click.option(
    "-w",
    "--workers",
    type=click.IntRange(min=1, max=256),
    default=1,
    show_default=True,
    envvar="VIRT_WORKERS",
    help="Processes answering on the same ports, one per core; a client session's sequences "
    "and journal are shared between them. Env: VIRT_WORKERS.",
)
@click.option(
    "--state",
    envvar="VIRT_STATE",
    metavar="URL",
    help="Where per-session state lives: redis://HOST:PORT/N for replicas on several machines "
    "(the recordings are then opened read-only), or a file path for workers of one machine "
    "(default with --workers: a file made for the run). Env: VIRT_STATE.",
)
@max_body_option(
    "Answer 413 to a request whose body is larger than SIZE, as sent or once decoded; checked "
    "from Content-Length before reading, and while reading."
)
@config_option
@confdir_option
def serve_command(
    db: Path,
    mode: str,
    host: str,
    port: int,
    proxy_port: int,
    no_proxy: bool,
    routes: tuple[str, ...],
    passthrough: bool,
    insecure: bool,
    no_fallback: bool,
    faults: tuple[str, ...],
    fault_seed: int | None,
    latency: float | None,
    openapi: tuple[Path, ...],
    admin_token: str | None,
    no_admin: bool,
    journal: bool,
    shift_time: bool,
    workers: int,
    state: str | None,
    max_body: int,
    config: Path | None,
    confdir: Path,
) -> None:
    """Answer requests from the recordings in --db, never from the real dependencies.

    Two doors onto the same recordings: the direct door (a base URL) and the proxy door (the
    same HTTP_PROXY/HTTPS_PROXY and CA as recording). A request no recording answers, on a
    route the recordings know, gets an answer made from them (X-Virt-Match: fallback); any
    other gets status 599 with X-Virt-Match: miss and a JSON report of the nearest recordings.

    \b
      virt serve --db recordings/api.db
      curl http://127.0.0.1:8000/users/1
      curl --proxy http://127.0.0.1:8080 --cacert ~/.mitmproxy/mitmproxy-ca-cert.pem https://api.example.com/users/1
    """
    # late on purpose: virt.server loads mitmproxy, uvicorn and FastAPI (about a second), which
    # `virt --help` and the other commands do not need
    from virt.server import RecordSettings, ServeSettings, record, serve

    if mode == "record":
        if no_proxy:
            raise click.UsageError("--mode record records through the proxy door: drop --no-proxy")
        record(
            RecordSettings(
                db=db,
                host=host,
                port=proxy_port,
                confdir=confdir,
                insecure=insecure,
                config=config,
                max_body=max_body,
            )
        )
        return
    serve(
        ServeSettings(
            db=db,
            host=host,
            port=port,
            proxy_port=None if no_proxy else proxy_port,
            routes=[Route.parse(r) for r in routes],
            passthrough=passthrough or mode == "passthrough",
            fallback=not no_fallback,
            faults=faults,
            fault_seed=fault_seed,
            latency=latency,
            openapi=openapi,
            confdir=confdir,
            insecure=insecure,
            admin_token=admin_token,
            admin=not no_admin,
            journal=journal,
            config=config,
            shift_time=shift_time,
            max_body=max_body,
            workers=workers,
            state=state,
        )
    )


def _latency(value: str) -> float | None:
    """--latency as a factor of the recorded durations; None for none."""
    text = value.strip().lower()
    if text == "none":
        return None
    if text == "recorded":
        return 1.0
    try:
        factor = float(text)
    except ValueError:
        factor = -1.0
    if not 0 <= factor <= 100:
        raise click.BadParameter(
            f"{value!r}: give recorded, none, or a factor from 0 to 100 (0.5: half as long)"
        )
    return factor
