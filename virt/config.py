"""Settings read from the environment that several layers share."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass
from pathlib import Path

CA_FILE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Variables naming a CA bundle, in the order virt honours them (the first set one wins)."""


@dataclass(frozen=True, slots=True)
class UpstreamTrust:
    """Which CAs to trust for upstreams: a bundle file and/or a folder; None for public roots."""

    ca_file: str | None = None
    ca_dir: str | None = None

    @classmethod
    def from_env(cls) -> UpstreamTrust:
        """SSL_CERT_FILE, else REQUESTS_CA_BUNDLE, else CURL_CA_BUNDLE; plus SSL_CERT_DIR.

        As in curl, requests and OpenSSL, a bundle named here replaces the public roots.
        """
        ca_file = next(
            (v for var in CA_FILE_VARS if (v := os.environ.get(var)) and Path(v).is_file()), None
        )
        ca_dir = os.environ.get("SSL_CERT_DIR")
        return cls(ca_file, ca_dir if ca_dir and Path(ca_dir).is_dir() else None)

    def ssl_context(self) -> ssl.SSLContext | bool:
        """An SSL context for httpx, or True for its default (certifi) when nothing is set."""
        if self.ca_file is None and self.ca_dir is None:
            return True
        return ssl.create_default_context(cafile=self.ca_file, capath=self.ca_dir)
