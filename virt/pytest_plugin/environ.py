"""The variables that send a test's clients through virt and make them trust its CA."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from virt.mitm.master import CA

PROXY_VARS = ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")
"""Both spellings: curl reads only the lower-case http_proxy, most others either."""
BUNDLE_VARS = ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "AWS_CA_BUNDLE", "CURL_CA_BUNDLE")
"""Set to virt's bundle, which holds the public roots too, so direct (NO_PROXY) hosts still
verify."""
CERT_VARS = ("NODE_EXTRA_CA_CERTS",)
"""Set to virt's CA alone: Node adds it to its own roots."""
CLEARED = ("ALL_PROXY", "all_proxy")
"""A SOCKS or catch-all proxy from the shell would take requests past virt."""
_UNSAFE = re.compile(r"[^A-Za-z0-9_.:/\[\]-]+")


def apply(
    monkeypatch: pytest.MonkeyPatch, proxy: str, ca: CA, no_proxy: tuple[str, ...]
) -> dict[str, str]:
    """Set the variables for one test (monkeypatch restores them after it); returns what it set.

    NO_PROXY is replaced, never kept from the shell: a host listed there would reach the real
    service in replay. By default nothing bypasses virt, local services on 127.0.0.1 included
    ([tool.virt] no_proxy lets hosts through).
    """
    env = dict.fromkeys(PROXY_VARS, proxy)
    env |= dict.fromkeys(BUNDLE_VARS, str(ca.bundle))
    env |= dict.fromkeys(CERT_VARS, str(ca.cert))
    for name in CLEARED:
        monkeypatch.delenv(name, raising=False)
    for name in ("NO_PROXY", "no_proxy"):
        if no_proxy:
            env[name] = ",".join(no_proxy)
        else:
            monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def session_name(nodeid: str) -> str:
    """An X-Virt-Session value for a test: its node id, in characters any header can carry."""
    return _UNSAFE.sub("_", nodeid)[:200] or "test"
