"""Leaf certificates from virt's CA for TLS that virt terminates itself (the proxy door).

mitmproxy's CertStore mints them, exactly as the recorder does, so one CA serves both; Python's
ssl module then serves them, without the rest of mitmproxy on the replay hot path.
"""

from __future__ import annotations

import collections
import ipaddress
import shutil
import ssl
import tempfile
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from mitmproxy.certs import CertStore

from virt.mitm.master import CA_BASENAME

MAX_CONTEXTS = 1000
"""TLS contexts kept, one per host name; the least recently used is made again when needed."""

ALPN = ["http/1.1"]
"""What the proxy door speaks inside TLS: clients that also offer h2 settle on HTTP/1.1."""


class LeafCertificates:
    """An ssl.SSLContext per host name, with a certificate for it signed by the CA in
    `confdir`. Certificates are written to a private temporary folder (ssl loads them from
    files only) that `close` removes."""

    def __init__(self, confdir: Path) -> None:
        self._store = CertStore.from_store(str(Path(confdir).expanduser()), CA_BASENAME, 2048)
        self._folder = Path(tempfile.mkdtemp(prefix="virt-leaf-"))  # mode 0700
        self._key = self._folder / "key.pem"
        self._key.touch(mode=0o600)
        self._key.write_bytes(
            self._store.default_privatekey.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.TraditionalOpenSSL,
                serialization.NoEncryption(),
            )
        )
        self._contexts: collections.OrderedDict[str, ssl.SSLContext] = collections.OrderedDict()
        self._lock = threading.Lock()
        self._made = 0

    def context(self, host: str) -> ssl.SSLContext:
        """A server-side context whose certificate names `host`; a client's SNI, when it names
        another host, switches to that host's certificate during the handshake."""
        host = host.strip("[]").lower()
        with self._lock:
            found = self._contexts.get(host)
            if found is not None:
                self._contexts.move_to_end(host)
                return found
        made = self._make(host)
        with self._lock:
            self._contexts[host] = made
            while len(self._contexts) > MAX_CONTEXTS:
                self._contexts.popitem(last=False)
        return made

    def close(self) -> None:
        shutil.rmtree(self._folder, ignore_errors=True)

    def _make(self, host: str) -> ssl.SSLContext:
        entry = self._store.get_cert(host or None, [_san(host)] if host else [])
        with self._lock:
            self._made += 1
            cert = self._folder / f"cert-{self._made}.pem"
        cert.write_bytes(entry.cert.to_pem() + b"".join(c.to_pem() for c in entry.chain_certs))
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, self._key)
        cert.unlink()  # loaded: the file is no longer needed
        context.set_alpn_protocols(ALPN)
        context.sni_callback = self._switch
        return context

    def _switch(self, sock: ssl.SSLObject, name: str | None, _: ssl.SSLContext) -> None:
        """The SNI callback: serve the certificate of the name the client asked for."""
        if name:
            sock.context = self.context(name)


def _san(host: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(host))
    except ValueError:
        return x509.DNSName(host)
