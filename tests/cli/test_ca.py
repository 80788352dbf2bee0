"""virt ca: the variables for every common client, export lines for eval, a Java truststore, and
a warning where an existing GIT_SSL_CAINFO would win over git's config."""

from __future__ import annotations

import shlex
import shutil
import subprocess
from pathlib import Path

import certifi
import pytest
from click.testing import CliRunner

from tests.helpers import VIRT, clean_env
from virt.cli import cli
from virt.mitm.master import CA
from virt.mitm.trust import SETTINGS

VARIABLES = [s.variable for s in SETTINGS]


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["ca", *args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def exports(stdout: str) -> dict[str, str]:
    found = {}
    for line in stdout.splitlines():
        if line.startswith("export "):
            name, _, value = line.removeprefix("export ").partition("=")
            found[name] = shlex.split(value)[0]
    return found


def test_env_prints_only_export_lines_for_every_client(confdir: Path, virt_ca: CA) -> None:
    code, out, _ = run("--confdir", str(confdir), "--env")
    assert code == 0
    assert all(line.startswith("export ") for line in out.splitlines()), out
    found = exports(out)
    assert list(found) == VARIABLES
    for name in ("GIT_SSL_CAINFO", "PIP_CERT", "DENO_CERT", "SSL_CERT_FILE", "CURL_CA_BUNDLE"):
        assert found[name] == str(virt_ca.bundle)
    assert found["NODE_EXTRA_CA_CERTS"] == str(virt_ca.cert)


def test_the_listing_names_git_java_dotnet_and_what_ssl_cert_file_replaces(
    confdir: Path, virt_ca: CA
) -> None:
    code, out, err = run("--confdir", str(confdir), env={"GIT_SSL_CAINFO": str(virt_ca.bundle)})
    assert code == 0
    assert err == ""  # GIT_SSL_CAINFO already names the bundle: nothing to warn about
    assert list(exports(out)) == VARIABLES
    assert f"git config --global http.sslCAInfo {virt_ca.bundle}" in out
    assert "SSL_CERT_FILE replaces the public roots" in out
    assert "--java-truststore" in out
    assert ".NET" in out
    assert all(line.startswith(("# ", "export ")) for line in out.splitlines()), out


def test_the_bundle_holds_the_public_roots_and_the_ca(virt_ca: CA) -> None:
    bundle = virt_ca.bundle.read_bytes()
    assert Path(certifi.where()).read_bytes() in bundle
    assert bundle.endswith(virt_ca.cert.read_bytes())


def test_an_existing_git_ssl_cainfo_elsewhere_is_warned_about_on_stderr(confdir: Path) -> None:
    code, out, err = run(
        "--confdir", str(confdir), "--env", env={"GIT_SSL_CAINFO": "/etc/ssl/other.pem"}
    )
    assert code == 0
    assert "GIT_SSL_CAINFO is set to /etc/ssl/other.pem" in err
    assert "http.sslCAInfo" in err
    assert "warning" not in out  # stdout stays eval-able


@pytest.mark.skipif(shutil.which("keytool") is None, reason="no JDK on this machine")
def test_java_truststore_holds_the_jdk_roots_and_the_ca_and_prints_the_flags(
    confdir: Path, virt_ca: CA, tmp_path: Path
) -> None:
    store = tmp_path / "virt.p12"
    store.write_bytes(b"an old file, replaced")
    code, out, err = run("--confdir", str(confdir), "--java-truststore", str(store))
    assert code == 0, err
    flags = shlex.split(out)
    assert f"-Djavax.net.ssl.trustStore={store}" in flags
    password = next(f.split("=", 1)[1] for f in flags if "trustStorePassword" in f)
    listed = subprocess.run(
        ["keytool", "-list", "-keystore", str(store), "-storepass", password],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "virt-ca" in listed
    entries = int(listed.split("contains ")[1].split()[0])
    assert entries > 50, listed  # the JDK's public roots came along
    assert not [p for p in tmp_path.iterdir() if p.name != "virt.p12"]  # no partial file left


def test_java_truststore_without_keytool_says_how_to_get_one(confdir: Path, tmp_path: Path) -> None:
    done = subprocess.run(
        [*VIRT, "ca", "--confdir", str(confdir), "--java-truststore", str(tmp_path / "t.p12")],
        env=clean_env(PATH=str(tmp_path)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.startswith("virt: keytool is not on PATH"), done.stderr
    assert "install a JDK" in done.stderr
    assert done.stdout == ""
    assert not (tmp_path / "t.p12").exists()
