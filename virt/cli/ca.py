"""virt ca"""

from __future__ import annotations

import shlex
from pathlib import Path

import click

from virt.cli.options import confdir_option
from virt.mitm.master import CA_ENV_VARS, ensure_ca


@click.command("ca")
@confdir_option
@click.option(
    "--bundle",
    "bundle_only",
    is_flag=True,
    help="Print only the path of the bundle (public roots plus virt's CA).",
)
@click.option(
    "--cert", "cert_only", is_flag=True, help="Print only the path of virt's CA certificate."
)
def ca_command(confdir: Path, bundle_only: bool, cert_only: bool) -> None:
    """Print where the proxy's CA is and the variables that make common clients trust it.

    The CA is created on first use. The bundle holds public roots plus the CA, so clients that
    also reach hosts directly (NO_PROXY) keep working.

    \b
      virt ca
      eval "$(virt ca | grep ^export)"
    """
    ca = ensure_ca(confdir)
    if bundle_only:
        click.echo(str(ca.bundle))
        return
    if cert_only:
        click.echo(str(ca.cert))
        return
    click.echo(f"# CA certificate: {ca.cert}")
    click.echo(f"# bundle (public roots + CA): {ca.bundle}")
    for var in CA_ENV_VARS:
        # Node adds NODE_EXTRA_CA_CERTS to its own roots: give it the CA alone
        path = ca.cert if var == "NODE_EXTRA_CA_CERTS" else ca.bundle
        click.echo(f"export {var}={shlex.quote(str(path))}")
