"""pip against a real package index (PEP 503 simple pages and wheels on a local HTTP server),
recorded through `virt record` and replayed through `virt serve`: the recorded download and
install work again without the index, and a version never recorded is a miss."""

from __future__ import annotations

import base64
import functools
import hashlib
import ssl
import subprocess
import sys
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.helpers import clean_env, start_recording

NAME = "virt-demo"
VERSIONS = ("1.0", "2.0")


def wheel(folder: Path, version: str) -> Path:
    """A pure-Python wheel of virt-demo at `version`, built byte for byte the same each time."""
    dist = f"virt_demo-{version}.dist-info"
    files = {
        "virt_demo/__init__.py": f'VERSION = "{version}"\n',
        f"{dist}/METADATA": f"Metadata-Version: 2.1\nName: {NAME}\nVersion: {version}\n",
        f"{dist}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: virt-tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    files[f"{dist}/RECORD"] = "\n".join([*record, f"{dist}/RECORD,,"]) + "\n"
    path = folder / f"virt_demo-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as zf:
        for name, text in files.items():
            zf.writestr(zipfile.ZipInfo(name, (2026, 1, 1, 0, 0, 0)), text)
    return path


def simple_index(root: Path) -> None:
    """PEP 503 pages for virt-demo listing every version, with relative links and hashes."""
    packages = root / "packages"
    packages.mkdir(parents=True)
    links = []
    for version in VERSIONS:
        built = wheel(packages, version)
        sha = hashlib.sha256(built.read_bytes()).hexdigest()
        links.append(f'<a href="../../packages/{built.name}#sha256={sha}">{built.name}</a><br>')
    project = root / "simple" / NAME
    project.mkdir(parents=True)
    (project / "index.html").write_text(
        "<!DOCTYPE html><html><body>\n" + "\n".join(links) + "\n</body></html>\n"
    )


class Index:
    """The folder `root` served over HTTP (HTTPS with `tls`) on 127.0.0.1, as a static package
    index is."""

    def __init__(self, root: Path, tls: ssl.SSLContext | None = None) -> None:
        handler = functools.partial(_Quiet, directory=str(root))
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:  # HTTPS: the handshake runs in accept(), on the serving thread
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


def pip(*args: str, index: str, proxy: str | None = None) -> subprocess.CompletedProcess[str]:
    """pip as a user runs it, reading no configuration and no cache."""
    extra = ["--proxy", proxy] if proxy else []
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            *args,
            "--isolated",
            "--no-cache-dir",
            "--disable-pip-version-check",
            "--no-deps",
            "--retries",
            "0",
            "--index-url",
            index,
            *extra,
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )


@dataclass
class Recorded:
    db: Path
    wheel: bytes


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Iterator[Recorded]:
    """`pip download` and `pip install` of virt-demo 1.0 through `virt record`; the index holds
    2.0 as well, which nobody asked for. Then the index stops."""
    tmp = tmp_path_factory.mktemp("pip")
    simple_index(tmp / "index")
    index = Index(tmp / "index")
    db = tmp / "pip.db"
    recorder, port = start_recording(db, confdir, tmp)
    url, proxy = f"http://127.0.0.1:{index.port}/simple/", f"http://127.0.0.1:{port}"
    try:
        done = pip("download", f"{NAME}==1.0", "-d", str(tmp / "dl"), index=url, proxy=proxy)
        assert done.returncode == 0, done.stdout + done.stderr
        done = pip("install", f"{NAME}==1.0", "--target", str(tmp / "t"), index=url, proxy=proxy)
        assert done.returncode == 0, done.stdout + done.stderr
    finally:
        assert recorder.stop() == 0, recorder.output()
        index.stop()
    yield Recorded(db, (tmp / "dl" / "virt_demo-1.0-py3-none-any.whl").read_bytes())


def test_the_recorded_download_and_install_replay(
    recorded: Recorded, virt: Any, tmp_path: Path
) -> None:
    _, port, _ = virt.serve(recorded.db, proxy=False)
    index = f"http://127.0.0.1:{port}/simple/"
    done = pip("download", f"{NAME}==1.0", "-d", str(tmp_path / "dl"), index=index)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "dl" / "virt_demo-1.0-py3-none-any.whl").read_bytes() == recorded.wheel
    done = pip("install", f"{NAME}==1.0", "--target", str(tmp_path / "t"), index=index)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (tmp_path / "t" / "virt_demo" / "__init__.py").read_text() == 'VERSION = "1.0"\n'


def test_a_version_never_recorded_is_a_miss(recorded: Recorded, virt: Any, tmp_path: Path) -> None:
    _, port, _ = virt.serve(recorded.db, proxy=False)
    index = f"http://127.0.0.1:{port}/simple/"
    done = pip("download", f"{NAME}==2.0", "-d", str(tmp_path / "dl"), index=index)
    assert done.returncode != 0, "a wheel never recorded was answered"
    assert not (tmp_path / "dl").exists() or not any((tmp_path / "dl").iterdir())
    entries = httpx.get(f"http://127.0.0.1:{port}/__virt/journal").json()["entries"]
    wheels = [e for e in entries if e["url"].endswith("virt_demo-2.0-py3-none-any.whl")]
    assert wheels and {e["match"] for e in wheels} == {"miss"}, entries
    assert {e["status"] for e in wheels} == {599}
