"""Upstream trust comes from the variables HTTP tools share, in a fixed order."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
import trustme

from virt.config import UpstreamTrust


def test_nothing_set_means_public_roots() -> None:
    assert UpstreamTrust.from_env() == UpstreamTrust(None, None)
    assert UpstreamTrust.from_env().ssl_context() is True


@pytest.mark.parametrize("var", ["SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"])
def test_each_ca_bundle_variable_is_honoured(
    var: str, upstream_ca_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(var, str(upstream_ca_path))
    trust = UpstreamTrust.from_env()
    assert trust.ca_file == str(upstream_ca_path)
    context = trust.ssl_context()
    assert isinstance(context, ssl.SSLContext)
    assert len(context.get_ca_certs()) == 1


def test_ssl_cert_file_wins_over_the_others(
    upstream_ca_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = tmp_path / "other.pem"
    trustme.CA().cert_pem.write_to_path(str(other))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(other))
    monkeypatch.setenv("SSL_CERT_FILE", str(upstream_ca_path))
    assert UpstreamTrust.from_env().ca_file == str(upstream_ca_path)


def test_a_variable_naming_a_missing_file_is_ignored(
    upstream_ca_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "missing.pem"))
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(upstream_ca_path))
    assert UpstreamTrust.from_env().ca_file == str(upstream_ca_path)


def test_ssl_cert_dir_is_a_folder_of_cas(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert UpstreamTrust.from_env() == UpstreamTrust(None, str(tmp_path))
