"""Real clients trust virt's CA with what `virt ca` prints, through a real `virt record` to a real
HTTPS upstream: git, pip, curl and Java. A client that does not trust it fails, and virt's log
names the host and the variable that client needs, in `virt record` and in `virt serve`'s proxy
door alike."""

from __future__ import annotations

import contextlib
import os
import shlex
import shutil
import signal
import socket
import ssl
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import trustme

from tests.conftest import Virt
from tests.e2e.gitserver import GitServer, git, git_env, require_git
from tests.e2e.test_pip_index import NAME, Index, simple_index
from tests.helpers import clean_env, wait_for
from virt.mitm.master import CA
from virt.store import Store


def ca_env(confdir: Path) -> dict[str, str]:
    """The variables `virt ca --env` prints, read the way `eval` would."""
    done = subprocess.run(
        [sys.executable, "-m", "virt", "ca", "--env", "--confdir", str(confdir)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    found = {}
    for line in done.stdout.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        found[name] = shlex.split(value)[0]
    return found


@pytest.fixture(scope="module")
def repo_server(
    tmp_path_factory: pytest.TempPathFactory, upstream_ca: trustme.CA
) -> Iterator[tuple[GitServer, Path]]:
    """A bare repository of one commit served over HTTPS (smart HTTP), and a git home."""
    require_git()
    tmp = tmp_path_factory.mktemp("git-tls")
    home, src, root = tmp / "home", tmp / "src", tmp / "root"
    home.mkdir()
    root.mkdir()
    assert git(home, "init", "-q", "-b", "main", str(src)).returncode == 0
    (src / "README").write_text("cloned over HTTPS through virt\n")
    assert git(home, "add", "README", cwd=src).returncode == 0
    assert git(home, "commit", "-q", "-m", "first", cwd=src).returncode == 0
    assert git(home, "clone", "-q", "--bare", str(src), str(root / "repo.git")).returncode == 0
    context = trustme_server_context(upstream_ca)
    server = GitServer(root, tls=context).start()
    yield server, home
    server.stop()


def trustme_server_context(ca: trustme.CA) -> ssl.SSLContext:
    """A server-side context with a certificate for 127.0.0.1 from `ca`."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
    return context


def clone(home: Path, url: str, dest: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [require_git(), "clone", "-q", url, str(dest)],
        env=git_env(home, **env),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_git_clones_over_https_through_virt_record_with_git_ssl_cainfo_from_virt_ca(
    repo_server: tuple[GitServer, Path], virt: Virt, tmp_path: Path, confdir: Path
) -> None:
    server, home = repo_server
    recorder, port = virt.record(tmp_path / "git.db")
    trust = ca_env(confdir)
    done = clone(
        home,
        f"{server.url}/repo.git",
        tmp_path / "clone",
        https_proxy=f"http://127.0.0.1:{port}",
        GIT_SSL_CAINFO=trust["GIT_SSL_CAINFO"],
    )
    assert done.returncode == 0, done.stderr + recorder.output()
    assert (tmp_path / "clone" / "README").read_text() == "cloned over HTTPS through virt\n"
    assert recorder.stop() == 0
    assert "rejected virt's certificate" not in recorder.output()


def test_git_without_the_ca_fails_and_virt_record_names_git_ssl_cainfo(
    repo_server: tuple[GitServer, Path], virt: Virt, tmp_path: Path
) -> None:
    server, home = repo_server
    recorder, port = virt.record(tmp_path / "git.db")
    done = clone(
        home, f"{server.url}/repo.git", tmp_path / "clone", https_proxy=f"http://127.0.0.1:{port}"
    )
    assert done.returncode != 0, "git trusted a CA nobody gave it"
    assert "certificate" in done.stderr, done.stderr
    wait_for(lambda: "GIT_SSL_CAINFO" in recorder.output(), what="the hint in the log")
    hints = [line for line in recorder.output().splitlines() if "GIT_SSL_CAINFO" in line]
    assert len(hints) == 1, recorder.output()
    assert "WARNING" in hints[0]
    assert "git rejected virt's certificate for 127.0.0.1" in hints[0], hints[0]
    assert "git/" not in hints[0]  # the client by name, never its User-Agent


def test_git_without_the_ca_fails_and_the_proxy_door_names_git_ssl_cainfo(
    repo_server: tuple[GitServer, Path], virt: Virt, tmp_path: Path
) -> None:
    _, home = repo_server
    db = tmp_path / "door.db"
    Store.open(db).close()
    served, _, proxy_port = virt.serve(db)
    done = clone(
        home,
        "https://git.example.com/repo.git",
        tmp_path / "clone",
        https_proxy=f"http://127.0.0.1:{proxy_port}",
    )
    assert done.returncode != 0, "git trusted a CA nobody gave it"
    wait_for(lambda: "GIT_SSL_CAINFO" in served.output(), what="the hint in the log")
    hints = [line for line in served.output().splitlines() if "GIT_SSL_CAINFO" in line]
    assert len(hints) == 1, served.output()
    assert "git rejected virt's certificate for git.example.com" in hints[0], hints[0]


def test_a_client_without_a_user_agent_is_told_the_common_variables(
    virt: Virt, tmp_path: Path
) -> None:
    db = tmp_path / "door.db"
    Store.open(db).close()
    served, _, proxy_port = virt.serve(db)
    # Python's own client sends CONNECT without a User-Agent, and trusts only the public roots
    script = (
        "import http.client\n"
        f"c = http.client.HTTPSConnection('127.0.0.1', {proxy_port}, timeout=10)\n"
        "c.set_tunnel('api.example.com', 443)\n"
        "try:\n    c.request('GET', '/')\nexcept OSError as e:\n    print(type(e).__name__)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], env=clean_env(), capture_output=True, text=True
    )
    assert "SSLCertVerificationError" in done.stdout, done.stdout + done.stderr
    wait_for(lambda: "rejected virt's certificate" in served.output(), what="the hint")
    line = next(x for x in served.output().splitlines() if "rejected virt's" in x)
    assert "a client rejected virt's certificate for api.example.com" in line, line
    for variable in ("SSL_CERT_FILE", "REQUESTS_CA_BUNDLE", "GIT_SSL_CAINFO", "PIP_CERT"):
        assert variable in line, line


def pip_env(**extra: str) -> dict[str, str]:
    """No pip setting from the machine (pip's --isolated would also drop PIP_CERT), plus `extra`."""
    env = {k: v for k, v in clean_env().items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, **extra)
    return env


def test_pip_downloads_from_an_https_index_through_virt_record_with_pip_cert(
    virt: Virt, tmp_path: Path, confdir: Path, upstream_ca: trustme.CA
) -> None:
    simple_index(tmp_path / "index")
    index = Index(tmp_path / "index", tls=trustme_server_context(upstream_ca))
    recorder, port = virt.record(tmp_path / "pip.db")
    trust = ca_env(confdir)
    try:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                f"{NAME}==1.0",
                "-d",
                str(tmp_path / "dl"),
                "--no-cache-dir",
                "--disable-pip-version-check",
                "--no-deps",
                "--retries",
                "0",
                "--index-url",
                f"https://127.0.0.1:{index.port}/simple/",
                "--proxy",
                f"http://127.0.0.1:{port}",
            ],
            env=pip_env(PIP_CERT=trust["PIP_CERT"]),
            capture_output=True,
            text=True,
            timeout=120,
        )
    finally:
        index.stop()
    assert done.returncode == 0, done.stdout + done.stderr + recorder.output()
    assert (tmp_path / "dl" / "virt_demo-1.0-py3-none-any.whl").exists()
    assert recorder.stop() == 0


def test_curl_reaches_an_https_upstream_through_virt_record_with_curl_ca_bundle(
    virt: Virt, https_upstream: Any, tmp_path: Path, confdir: Path
) -> None:
    curl = shutil.which("curl")
    assert curl is not None, "curl is not installed: make system-deps installs it"
    recorder, port = virt.record(tmp_path / "curl.db")
    trust = ca_env(confdir)
    done = subprocess.run(
        [curl, "-sS", "--fail", f"{https_upstream.url}/users/1"],
        env=clean_env(
            https_proxy=f"http://127.0.0.1:{port}", CURL_CA_BUNDLE=trust["CURL_CA_BUNDLE"]
        ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr + recorder.output()
    assert '"id"' in done.stdout
    assert recorder.stop() == 0


JAVA_CLIENT = """
import java.net.*;
import java.io.*;

public class Fetch {
    public static void main(String[] args) throws Exception {
        Proxy proxy = new Proxy(Proxy.Type.HTTP, new InetSocketAddress("127.0.0.1",
            Integer.parseInt(args[1])));
        HttpURLConnection c = (HttpURLConnection) new URL(args[0]).openConnection(proxy);
        try (InputStream in = c.getInputStream()) {
            System.out.println(c.getResponseCode() + " " + new String(in.readAllBytes()));
        }
    }
}
"""


@pytest.mark.skipif(shutil.which("java") is None, reason="no Java runtime on this machine")
def test_java_reaches_an_https_upstream_through_virt_record_with_the_truststore_flags(
    virt: Virt, https_upstream: Any, tmp_path: Path, confdir: Path
) -> None:
    made = subprocess.run(
        [
            sys.executable,
            "-m",
            "virt",
            "ca",
            "--confdir",
            str(confdir),
            "--java-truststore",
            str(tmp_path / "virt.p12"),
        ],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert made.returncode == 0, made.stderr
    flags = shlex.split(made.stdout)
    assert any(f.startswith("-Djavax.net.ssl.trustStore=") for f in flags), made.stdout
    recorder, port = virt.record(tmp_path / "java.db")
    (tmp_path / "Fetch.java").write_text(JAVA_CLIENT)
    done = subprocess.run(
        ["java", *flags, str(tmp_path / "Fetch.java"), f"{https_upstream.url}/users/1", str(port)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr + recorder.output()
    assert done.stdout.startswith("200 "), done.stdout
    assert recorder.stop() == 0


def test_java_without_the_truststore_fails_and_virt_record_names_the_truststore(
    virt: Virt, https_upstream: Any, tmp_path: Path
) -> None:
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on this machine")
    recorder, port = virt.record(tmp_path / "java.db")
    (tmp_path / "Fetch.java").write_text(JAVA_CLIENT)
    done = subprocess.run(
        ["java", str(tmp_path / "Fetch.java"), f"{https_upstream.url}/users/1", str(port)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0, done.stdout
    wait_for(lambda: "javax.net.ssl.trustStore" in recorder.output(), what="the hint")
    line = next(x for x in recorder.output().splitlines() if "javax.net.ssl" in x)
    assert "Java rejected virt's certificate for 127.0.0.1" in line, line


def _idle_tls(port: int, target: str, cafile: Path) -> ssl.SSLSocket:
    """A tunnel through the proxy on `port` with TLS up, trusting `cafile`, that says nothing."""
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    raw.sendall(f"CONNECT {target} HTTP/1.1\r\nHost: {target}\r\n\r\n".encode())
    assert raw.recv(4096).startswith(b"HTTP/1.1 200")
    context = ssl.create_default_context(cafile=str(cafile))
    return context.wrap_socket(raw, server_hostname=target.rsplit(":", 1)[0])


def test_trusting_clients_cut_off_by_virt_record_stopping_get_no_hint(
    virt: Virt, https_upstream: Any, tmp_path: Path, virt_ca: CA
) -> None:
    recorder, port = virt.record(tmp_path / "idle.db")
    with _idle_tls(port, f"127.0.0.1:{https_upstream.port}", virt_ca.cert):
        assert recorder.stop() == 0
    assert "rejected virt's certificate" not in recorder.output()


def test_trusting_clients_cut_off_by_the_proxy_door_stopping_get_no_hint(
    virt: Virt, tmp_path: Path, virt_ca: CA
) -> None:
    db = tmp_path / "door.db"
    Store.open(db).close()
    served, _, proxy_port = virt.serve(db)
    with _idle_tls(proxy_port, "api.example.com:443", virt_ca.cert) as tls:
        assert served.proc is not None
        served.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(OSError):  # read virt's close_notify, then hang up in turn
            while tls.recv(4096):
                pass
    assert served.proc.wait(30) == 0
    assert "rejected virt's certificate" not in served.output()
