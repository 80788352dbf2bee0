"""virt record"""

from __future__ import annotations

from pathlib import Path

import click

from virt.cli.options import (
    confdir_option,
    config_option,
    db_option,
    host_option,
    max_body_option,
    no_redact_option,
)


@click.command("record")
@db_option
@host_option()
@click.option(
    "-p",
    "--port",
    default=8080,
    show_default=True,
    envvar="VIRT_PROXY_PORT",
    help="Proxy port. Env: VIRT_PROXY_PORT.",
)
@click.option(
    "--reverse",
    metavar="URL",
    help="Reverse-proxy mode: clients call virt as if it were URL (https://api.example.com).",
)
@click.option(
    "--session", default="", help="Name of this recording session. Default: record-<UTC time>."
)
@click.option("--insecure", is_flag=True, help="Do not verify upstream TLS certificates.")
@no_redact_option
@max_body_option(
    "Refuse a body larger than SIZE, as sent or once decoded: a request with 413, a response "
    "with 502; neither passes unrecorded."
)
@click.option(
    "--compare-with",
    type=click.Path(path_type=Path, dir_okay=False, exists=True),
    metavar="DB",
    help="Another recordings database: each exchange it also holds is compared with its "
    "answer, and the differences logged as virt drift reports them.",
)
@config_option
@confdir_option
def record_command(
    db: Path,
    host: str,
    port: int,
    reverse: str | None,
    session: str,
    insecure: bool,
    no_redact: bool,
    max_body: int,
    compare_with: Path | None,
    config: Path | None,
    confdir: Path,
) -> None:
    """Record every call that goes through the proxy into --db, until Ctrl-C.

    Point clients at the proxy with HTTP_PROXY/HTTPS_PROXY and trust its CA (see virt ca), or
    use --reverse for clients that cannot use a proxy. Each response reaches the client only
    after it is committed to the database. Secrets are replaced by placeholders before they are
    written, under a key kept next to the database (DB.key) or in VIRT_SECRET_KEY.

    \b
      virt record --db recordings/api.db --port 8080
      HTTPS_PROXY=http://127.0.0.1:8080 SSL_CERT_FILE=$(virt ca --bundle) python client.py
      virt record --db recordings/api.db --reverse https://api.example.com
    """
    # late on purpose: virt.server loads mitmproxy, uvicorn and FastAPI (about a second), which
    # `virt --help` and the other commands do not need
    from virt.server import RecordSettings, record

    record(
        RecordSettings(
            db=db,
            host=host,
            port=port,
            reverse=reverse,
            session=session,
            confdir=confdir,
            insecure=insecure,
            redact=not no_redact,
            config=config,
            max_body=max_body,
            compare_with=compare_with,
        )
    )
