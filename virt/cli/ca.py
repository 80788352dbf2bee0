"""virt ca"""

from __future__ import annotations

import os
import shlex
from pathlib import Path

import click

from virt.cli.options import confdir_option
from virt.mitm.javatrust import java_truststore
from virt.mitm.master import CA, ensure_ca
from virt.mitm.trust import SETTINGS


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
@click.option(
    "--env",
    "env_only",
    is_flag=True,
    help="Print only the export lines, for eval in a shell.",
)
@click.option(
    "--java-truststore",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write a PKCS12 truststore (the JDK's public roots plus virt's CA) with keytool, and "
    "print the java flags that use it.",
)
def ca_command(
    confdir: Path,
    bundle_only: bool,
    cert_only: bool,
    env_only: bool,
    java_truststore: Path | None,
) -> None:
    """Print where the proxy's CA is and the variables that make common clients trust it.

    The CA is created on first use. The bundle holds public roots plus the CA: SSL_CERT_FILE
    and most of the variables printed replace a client's public roots, so clients that also
    reach hosts directly (NO_PROXY) keep working.

    \b
      virt ca
      eval "$(virt ca --env)"
      java $(virt ca --java-truststore virt.p12) -jar app.jar
    """
    ca = ensure_ca(confdir)
    if bundle_only:
        click.echo(str(ca.bundle))
        return
    if cert_only:
        click.echo(str(ca.cert))
        return
    if java_truststore is not None:
        _java(ca, java_truststore)
        return
    _warn_git_override(ca)
    if env_only:
        for setting in SETTINGS:
            click.echo(f"export {setting.variable}={_path(ca, setting.path)}")
        return
    click.echo(f"# CA certificate: {ca.cert}")
    click.echo(f"# bundle (public roots + CA): {ca.bundle}")
    click.echo("# SSL_CERT_FILE replaces the public roots of OpenSSL, Go, Ruby and .NET on Linux;")
    click.echo("# the bundle holds them, so hosts reached directly (NO_PROXY) keep working.")
    for setting in SETTINGS:
        click.echo(f"# {setting.clients}")
        click.echo(f"export {setting.variable}={_path(ca, setting.path)}")
    click.echo(
        f"# git, instead of GIT_SSL_CAINFO: git config --global http.sslCAInfo {_q(ca.bundle)}"
    )
    click.echo("# Java: java $(virt ca --java-truststore virt.p12) ... (a truststore via keytool)")
    click.echo(
        "# .NET on macOS and Windows reads only the system store: add the certificate there."
    )


def _path(ca: CA, which: str) -> str:
    return _q(ca.cert if which == "cert" else ca.bundle)


def _q(path: Path) -> str:
    return shlex.quote(str(path))


def _warn_git_override(ca: CA) -> None:
    """GIT_SSL_CAINFO wins over git config http.sslCAInfo without a word: say so."""
    current = os.environ.get("GIT_SSL_CAINFO")
    if current and Path(current).expanduser() != ca.bundle:
        click.echo(
            f"virt: warning: GIT_SSL_CAINFO is set to {current} and git prefers it to "
            "http.sslCAInfo in git config: export the line below or unset it",
            err=True,
        )


def _java(ca: CA, path: Path) -> None:
    store = java_truststore(ca, path)
    if not store.public_roots:
        click.echo(
            f"virt: warning: {store.path} trusts virt's CA alone: the JDK's cacerts was not "
            "found or not readable, so Java given it reaches no host directly",
            err=True,
        )
    click.echo(" ".join(shlex.quote(flag) for flag in store.flags()))
