"""The CA bundle virt writes: certifi's roots, the system's roots certifi lacks, then virt's CA."""

from __future__ import annotations

import shutil
from pathlib import Path

import certifi
import pytest
import trustme

from virt.mitm.master import SYSTEM_ROOTS, ensure_ca


@pytest.fixture
def conf(confdir: Path, tmp_path: Path) -> Path:
    """A copy of the run's CA, so that a test may rewrite its bundle (no key is generated)."""
    copy = tmp_path / "conf"
    shutil.copytree(confdir, copy)
    return copy


def test_the_bundle_adds_a_system_root_certifi_lacks(conf: Path, tmp_path: Path) -> None:
    company = trustme.CA().cert_pem.bytes()
    system = tmp_path / "system.pem"
    system.write_bytes(Path(certifi.where()).read_bytes() + company)
    ca = ensure_ca(conf, system_roots=system)
    bundle = ca.bundle.read_bytes()
    assert bundle.startswith(Path(certifi.where()).read_bytes())
    assert bundle.count(company.strip()) == 1
    assert bundle.endswith(ca.cert.read_bytes())
    assert bundle.count(b"BEGIN CERTIFICATE") == (
        Path(certifi.where()).read_bytes().count(b"BEGIN CERTIFICATE") + 2
    )
    ensure_ca(conf, system_roots=system)
    assert ca.bundle.read_bytes() == bundle  # stable: nothing added twice


def test_without_a_system_file_the_bundle_is_certifi_and_the_ca(conf: Path, tmp_path: Path) -> None:
    ca = ensure_ca(conf, system_roots=tmp_path / "missing.pem")
    assert ca.bundle.read_bytes() == (
        Path(certifi.where()).read_bytes() + b"\n" + ca.cert.read_bytes()
    )


def test_a_system_file_that_is_the_bundle_itself_is_not_folded_in(conf: Path) -> None:
    ca = ensure_ca(conf, system_roots=conf / "none.pem")
    ensure_ca(conf, system_roots=ca.bundle)  # SSL_CERT_FILE pointing at the bundle, say
    assert ca.bundle.read_bytes() == (
        Path(certifi.where()).read_bytes() + b"\n" + ca.cert.read_bytes()
    )


@pytest.mark.skipif(not SYSTEM_ROOTS.is_file(), reason="no system CA file on this machine")
def test_every_root_of_the_system_store_is_in_the_bundle(conf: Path) -> None:
    bundle = b"".join(ensure_ca(conf).bundle.read_bytes().split())
    system = SYSTEM_ROOTS.read_bytes()
    roots = system.split(b"-----END CERTIFICATE-----")[:-1]
    assert roots
    for root in roots:
        body = root.split(b"-----BEGIN CERTIFICATE-----")[1]
        assert b"".join(body.split()) in bundle
