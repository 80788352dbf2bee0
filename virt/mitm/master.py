"""Runs mitmproxy in-process: options, the CA, upstream trust, and startup errors as VirtErrors."""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import certifi
from mitmproxy.certs import CertStore

from virt.config import UpstreamTrust
from virt.errors import ConfigError, PortInUse

if TYPE_CHECKING:
    from mitmproxy.master import Master

log = logging.getLogger(__name__)

DEFAULT_CONFDIR = Path("~/.mitmproxy").expanduser()
CA_BASENAME = "mitmproxy"
CA_ENV_VARS = (
    "SSL_CERT_FILE",
    "REQUESTS_CA_BUNDLE",
    "NODE_EXTRA_CA_CERTS",
    "AWS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@dataclass(frozen=True, slots=True)
class CA:
    """Where the proxy's CA lives: the certificate alone, and a bundle of it plus public roots."""

    cert: Path
    bundle: Path


SYSTEM_ROOTS = Path(ssl.get_default_verify_paths().openssl_cafile)
"""The system's CA file as OpenSSL was built to find it, whatever SSL_CERT_FILE says (which may
name virt's own bundle)."""

_PEM = re.compile(rb"-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----")


def ensure_ca(confdir: Path, system_roots: Path = SYSTEM_ROOTS) -> CA:
    """Create the CA in `confdir` if it is missing (as mitmproxy would) and return its paths.

    The bundle is certifi's public roots, then the roots of `system_roots` that certifi lacks
    (a company's own root, say), then the CA. SSL_CERT_FILE replaces a client's roots, so one
    bundle serves clients that reach virt and hosts they reach directly (NO_PROXY).
    """
    confdir = Path(confdir).expanduser()
    try:
        confdir.mkdir(parents=True, exist_ok=True)
        CertStore.from_store(str(confdir), CA_BASENAME, 2048)
        cert = confdir / f"{CA_BASENAME}-ca-cert.pem"
        bundle = confdir / "virt-ca-bundle.pem"
        ca_pem = cert.read_bytes()
        wanted = _public_roots(system_roots, ca_pem, bundle) + b"\n" + ca_pem
        if not bundle.exists() or bundle.read_bytes() != wanted:
            bundle.write_bytes(wanted)
    except OSError as e:
        raise ConfigError(
            f"cannot create the CA in {confdir}: {e.strerror or e}",
            hint="pass a writable folder with --confdir",
        ) from e
    return CA(cert=cert, bundle=bundle)


def _public_roots(system_roots: Path, ca_pem: bytes, bundle: Path) -> bytes:
    roots = Path(certifi.where()).read_bytes()
    try:
        if system_roots.resolve() == bundle.resolve():
            return roots
        system = system_roots.read_bytes()
    except OSError:  # no system file (Windows, some macOS builds): certifi's roots alone
        return roots
    known = {_canonical(pem) for pem in _PEM.findall(roots + ca_pem)}
    extra = []
    for pem in _PEM.findall(system):
        if _canonical(pem) not in known:
            known.add(_canonical(pem))
            extra.append(pem)
    if not extra:
        return roots
    return roots.rstrip(b"\n") + b"\n\n# from " + bytes(system_roots) + b"\n" + b"\n".join(extra)


def _canonical(pem: bytes) -> bytes:
    return b"".join(pem.split())


def upstream_trust() -> dict[str, Any]:
    """mitmproxy options that make the proxy trust what SSL_CERT_FILE and friends name upstream.

    mitmproxy alone trusts certifi's roots and ignores these variables.
    """
    trust = UpstreamTrust.from_env()
    opts: dict[str, Any] = {}
    if trust.ca_file:
        opts["ssl_verify_upstream_trusted_ca"] = trust.ca_file
    if trust.ca_dir:
        opts["ssl_verify_upstream_trusted_confdir"] = trust.ca_dir
    return opts


def check_port_free(host: str, port: int) -> None:
    """Raise PortInUse now, rather than let a server fail to bind later with a traceback."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError as e:
            if e.errno == errno.EADDRINUSE:
                raise PortInUse(
                    f"port {port} on {host} is already in use",
                    hint="stop the process using it, or pick another port",
                ) from e
            raise ConfigError(f"cannot listen on {host}:{port}: {e.strerror}") from e


@dataclass(slots=True)
class ProxySettings:
    host: str
    port: int
    confdir: Path
    mode: Sequence[str] = ("regular",)
    extra: dict[str, Any] = field(default_factory=dict)


class Proxy:
    """A mitmproxy master running on the current event loop with virt's addons."""

    def __init__(self, settings: ProxySettings, addons: Sequence[object]) -> None:
        self.settings = settings
        self._addons = addons
        self.master: Master | None = None

    async def run(self) -> None:
        """Serve until `shutdown` is called. Must be awaited on a running loop."""
        # heavy imports, loaded only to run a proxy: `virt ca` and --help stay quick
        from mitmproxy import addons as mitm_addons
        from mitmproxy import options
        from mitmproxy.master import Master

        s = self.settings
        opts = options.Options()
        master = Master(opts, event_loop=asyncio.get_running_loop())
        master.addons.add(*mitm_addons.default_addons())
        master.addons.add(*self._addons)
        try:
            # one update after every addon is loaded, so each addon's configure sees all of it
            opts.update(
                listen_host=s.host,
                listen_port=s.port,
                mode=list(s.mode),
                confdir=str(s.confdir),
                **s.extra,
            )
        except Exception as e:  # mitmproxy raises OptionsError with a clear text
            raise ConfigError(f"cannot start the proxy: {e}") from e
        self.master = master
        await master.run()

    def shutdown(self) -> None:
        if self.master is not None:
            self.master.shutdown()
