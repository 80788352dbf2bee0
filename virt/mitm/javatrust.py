"""A Java truststore holding the JDK's public roots plus virt's CA, made with keytool."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from virt.errors import ConfigError
from virt.mitm.master import CA

STORE_PASSWORD = "changeit"
"""The truststore's password. It guards nothing secret (a truststore holds public certificates
only); it is the JDK's own default, which keytool needs in order to write the file."""

JDK_PASSWORD = "changeit"
"""The password of the JDK's cacerts, the same everywhere unless someone changed it."""

ALIAS = "virt-ca"


@dataclass(frozen=True, slots=True)
class TrustStore:
    path: Path
    public_roots: bool
    """False when the JDK's cacerts could not be read: the store then trusts virt's CA alone."""

    def flags(self) -> list[str]:
        """The JVM options that make Java trust this store, instead of its cacerts."""
        return [
            f"-Djavax.net.ssl.trustStore={self.path}",
            f"-Djavax.net.ssl.trustStorePassword={STORE_PASSWORD}",
            "-Djavax.net.ssl.trustStoreType=PKCS12",
        ]


def java_truststore(ca: CA, path: Path) -> TrustStore:
    """Write a PKCS12 truststore at `path`: the JDK's cacerts plus virt's CA, replacing any file
    there. A Java client given it keeps trusting the public roots for hosts it reaches directly.

    Raises ConfigError when keytool is missing or fails.
    """
    keytool = shutil.which("keytool")
    if keytool is None:
        raise ConfigError(
            "keytool is not on PATH: a Java truststore is made with it",
            hint="install a JDK (or put its bin folder on PATH), or add "
            f"{ca.cert} to your truststore yourself",
        )
    path = Path(path).expanduser().resolve()
    folder = path.parent
    if not folder.is_dir():
        raise ConfigError(f"cannot write {path}: {folder} is not a folder")
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    os.close(fd)
    partial = Path(name)
    partial.unlink()  # keytool refuses to import into an empty file that is not a keystore
    try:
        public = False
        cacerts = _jdk_cacerts(keytool)
        if cacerts is not None:
            public = _keytool(
                keytool,
                "-importkeystore",
                "-srckeystore",
                str(cacerts),
                "-srcstorepass",
                JDK_PASSWORD,
                "-destkeystore",
                str(partial),
                "-deststoretype",
                "PKCS12",
                "-deststorepass",
                STORE_PASSWORD,
                check=False,
            )
            if not public:
                partial.unlink(missing_ok=True)
        _keytool(
            keytool,
            "-importcert",
            "-alias",
            ALIAS,
            "-file",
            str(ca.cert),
            "-keystore",
            str(partial),
            "-storetype",
            "PKCS12",
            "-storepass",
            STORE_PASSWORD,
        )
        partial.replace(path)
    finally:
        partial.unlink(missing_ok=True)
    return TrustStore(path, public)


def _jdk_cacerts(keytool: str) -> Path | None:
    """The JDK's own truststore: under JAVA_HOME, else next to keytool's real location."""
    homes = [Path(os.environ["JAVA_HOME"])] if os.environ.get("JAVA_HOME") else []
    homes.append(Path(keytool).resolve().parent.parent)
    for home in homes:
        for candidate in (home / "lib" / "security" / "cacerts", home / "jre/lib/security/cacerts"):
            if candidate.is_file():
                return candidate
    return None


def _keytool(keytool: str, *args: str, check: bool = True) -> bool:
    try:
        done = subprocess.run(
            [keytool, *args, "-noprompt"], capture_output=True, text=True, timeout=120
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise ConfigError(f"keytool did not run: {e}") from e
    if done.returncode != 0 and check:
        said = (done.stdout + done.stderr).strip().splitlines()
        raise ConfigError(f"keytool {args[0]} failed: {said[-1] if said else done.returncode}")
    return done.returncode == 0
