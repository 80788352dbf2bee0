"""Upstream trust comes from the variables HTTP tools share; virt.toml's tables are read once."""

from __future__ import annotations

import re
import ssl
from pathlib import Path

import pytest
import trustme

from virt.config import ConfigFile, UpstreamTrust, read_config
from virt.errors import ConfigError
from virt.redact.rules import RedactRules


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


def test_the_redact_table_is_read_once_and_named_by_its_file(tmp_path: Path) -> None:
    toml = tmp_path / "virt.toml"
    toml.write_text('[redact]\nheaders = ["X-Tenant-Key"]\n', encoding="utf-8")
    config = read_config(toml)
    assert config.redact == {"headers": ["X-Tenant-Key"]}
    assert config.source == str(toml)
    assert RedactRules.from_config(config).headers == frozenset({"x-tenant-key"})


def test_no_config_file_means_no_redact_rules_and_virt_toml_in_messages() -> None:
    config = ConfigFile()
    assert config.redact == {}
    assert config.source == "virt.toml"
    assert RedactRules.from_config(config) == RedactRules()


def test_a_bad_redact_key_names_the_file_it_came_from(tmp_path: Path) -> None:
    toml = tmp_path / "virt.toml"
    toml.write_text('[redact]\nheader = ["X-Key"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=rf"^{re.escape(str(toml))}: redact: unknown key"):
        RedactRules.from_config(read_config(toml))
