"""Which setting makes each client trust virt's CA, and the hint logged when one rejects it."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

log = logging.getLogger("virt")


@dataclass(frozen=True, slots=True)
class Setting:
    """An environment variable a client reads for the CAs it trusts."""

    variable: str
    path: Literal["bundle", "cert"]
    """The bundle (public roots plus virt's CA) for a variable that replaces the client's roots;
    the certificate alone for one that adds to them."""
    clients: str
    """Who reads it, as `virt ca` shows it."""


SETTINGS = (
    Setting(
        "SSL_CERT_FILE",
        "bundle",
        "OpenSSL: Python's ssl, httpx and aiohttp, Go, Ruby, .NET on Linux",
    ),
    Setting("REQUESTS_CA_BUNDLE", "bundle", "Python requests"),
    Setting("NODE_EXTRA_CA_CERTS", "cert", "Node, added to its own roots"),
    Setting("AWS_CA_BUNDLE", "bundle", "AWS CLI and SDKs"),
    Setting("CURL_CA_BUNDLE", "bundle", "curl"),
    Setting("GIT_SSL_CAINFO", "bundle", "git; wins over git config http.sslCAInfo"),
    Setting("PIP_CERT", "bundle", "pip"),
    Setting("DENO_CERT", "bundle", "Deno"),
)
"""Every variable `virt ca` prints, in the order it prints them."""

JAVA_ADVICE = "a truststore (-Djavax.net.ssl.trustStore; virt ca --java-truststore PATH makes one)"

_BY_PRODUCT = {
    "git": ("git", "GIT_SSL_CAINFO (or git config http.sslCAInfo)"),
    "curl": ("curl", "CURL_CA_BUNDLE"),
    "pip": ("pip", "PIP_CERT"),
    "python-requests": ("Python requests", "REQUESTS_CA_BUNDLE"),
    "python-httpx": ("Python httpx", "SSL_CERT_FILE"),
    "python-urllib": ("Python urllib", "SSL_CERT_FILE"),
    "python": ("Python", "SSL_CERT_FILE (REQUESTS_CA_BUNDLE for requests)"),
    "aws-cli": ("the AWS CLI", "AWS_CA_BUNDLE"),
    "boto3": ("boto3", "AWS_CA_BUNDLE"),
    "botocore": ("botocore", "AWS_CA_BUNDLE"),
    "aws-sdk-java": ("the AWS SDK for Java", JAVA_ADVICE),
    "java": ("Java", JAVA_ADVICE),
    "apache-httpclient": ("Java", JAVA_ADVICE),
    "okhttp": ("Java", JAVA_ADVICE),
    "go-http-client": ("Go", "SSL_CERT_FILE"),
    "ruby": ("Ruby", "SSL_CERT_FILE"),
    "node": ("Node", "NODE_EXTRA_CA_CERTS"),
    "node-fetch": ("Node", "NODE_EXTRA_CA_CERTS"),
    "undici": ("Node", "NODE_EXTRA_CA_CERTS"),
    "axios": ("Node", "NODE_EXTRA_CA_CERTS"),
    "deno": ("Deno", "DENO_CERT"),
    "wget": ("wget", "SSL_CERT_FILE"),
}
"""User-Agent product (lowercase, the first token before its `/`) -> client, what it needs."""

_ANY_CLIENT = (
    "one of "
    + ", ".join(s.variable for s in SETTINGS)
    + " or a Java truststore, whichever the client reads"
)

_REJECTED = ("unknown ca", "bad certificate", "certificate unknown", "does not trust")
"""What TLS libraries (and mitmproxy's rewording) say when a client refuses the certificate."""
_CLOSED = (
    "connection closed",
    "disconnected during the handshake",
    "eof",
    "connection reset",
    "unexpected_eof",
)
"""What a client that drops the handshake without an alert leaves behind, as GnuTLS does."""

AFTER_HANDSHAKE = (
    "it hung up after the handshake without a request, as clients that check the certificate "
    "late do when they do not trust it"
)

MAX_REMEMBERED = 1024
"""Hosts and clients already warned about; past this many, the memory starts afresh."""


@dataclass(frozen=True, slots=True)
class Advice:
    client: str
    """Who the client is, by its User-Agent ("git"), or "a client" when nobody knows."""
    needs: str
    """The variable (or other setting) that client most likely needs."""


def advice_for(user_agent: str | None) -> Advice:
    """What a client sending `user_agent` (in its CONNECT, say) needs to trust virt's CA."""
    product = (user_agent or "").strip().split(" ", 1)[0].split("/", 1)[0].lower()
    known = _BY_PRODUCT.get(product)
    if known is None:
        return Advice("a client", _ANY_CLIENT)
    return Advice(*known)


def rejection(error: str) -> str | None:
    """Why a failed client handshake looks like distrust of virt's certificate, or None when it
    looks like something else (a TLS version nobody shares, a ClientHello that is not one)."""
    text = error.lower()
    if any(r in text for r in _REJECTED):
        return "it does not trust virt's CA"
    if "closed early" in text:
        return None  # gone before it sent a ClientHello: not a verdict on the certificate
    if any(c in text for c in _CLOSED):
        return "it hung up during the handshake, as clients do that do not trust the CA"
    return None


class RejectionLog:
    """Logs one WARNING per host and client that rejects virt's certificate, naming the
    variable that client needs. Never the User-Agent itself, only the client it names."""

    def __init__(self, door: str) -> None:
        self.door = door
        self._seen: set[tuple[str, str]] = set()

    def failed(self, host: str, user_agent: str | None, error: str) -> bool:
        """Log the hint if the handshake `error` looks like a rejection; True when it does."""
        why = rejection(error)
        if why is None:
            return False
        self._warn(host, user_agent, why)
        return True

    def silent(self, host: str, user_agent: str | None) -> None:
        """The client completed the handshake, then hung up before sending a request: what
        clients that check the certificate after the handshake (git and curl built on GnuTLS)
        do when they do not trust it."""
        self._warn(host, user_agent, AFTER_HANDSHAKE)

    def _warn(self, host: str, user_agent: str | None, why: str) -> None:
        advice = advice_for(user_agent)
        host = _printable(host) or "an unnamed host"
        key = (host, advice.client)
        if key in self._seen:
            return
        if len(self._seen) >= MAX_REMEMBERED:
            self._seen.clear()
        self._seen.add(key)
        log.warning(
            "%s: %s rejected virt's certificate for %s (%s); it needs %s, as `virt ca` prints",
            self.door,
            advice.client,
            host,
            why,
            advice.needs,
        )


def _printable(host: str) -> str:
    """A host name as a client sent it, safe to put in a log line."""
    return "".join(c for c in host[:255] if c.isprintable() and not c.isspace())
