"""A real git server over smart HTTP on 127.0.0.1: `git http-backend` run as a CGI program for
each request, the way Apache or nginx run it, and git itself as the client."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

GIT = shutil.which("git")


def require_git() -> str:
    """The git executable; a test that needs it fails, saying so, where it is missing."""
    assert GIT is not None, "git is not installed: these tests need a real git client and server"
    return GIT


def git_env(home: Path, **extra: str) -> dict[str, str]:
    """An environment in which git reads no user or system configuration and asks nothing."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.upper().endswith("_PROXY") and not k.startswith("GIT_")
    }
    env.update(
        HOME=str(home),
        GIT_CONFIG_NOSYSTEM="1",
        GIT_TERMINAL_PROMPT="0",
        GIT_AUTHOR_NAME="virt",
        GIT_AUTHOR_EMAIL="virt@example.com",
        GIT_COMMITTER_NAME="virt",
        GIT_COMMITTER_EMAIL="virt@example.com",
        GIT_AUTHOR_DATE="2026-01-01T00:00:00Z",
        GIT_COMMITTER_DATE="2026-01-01T00:00:00Z",
    )
    env.update(extra)
    return env


def git(home: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run git; the caller checks the outcome (a replayed miss is meant to fail)."""
    return subprocess.run(
        [require_git(), *args],
        cwd=cwd,
        env=git_env(home),
        capture_output=True,
        text=True,
        timeout=60,
    )


class _Backend(BaseHTTPRequestHandler):
    """Hands each request to `git http-backend` with the CGI variables it reads."""

    root: Path
    protocol_version = "HTTP/1.1"

    def do_GET(self) -> None:
        self._cgi(b"")

    def do_POST(self) -> None:
        self._cgi(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

    def _cgi(self, body: bytes) -> None:
        path, _, query = self.path.partition("?")
        env = git_env(
            self.root,
            GIT_PROJECT_ROOT=str(self.root),
            GIT_HTTP_EXPORT_ALL="1",
            REQUEST_METHOD=self.command,
            PATH_INFO=path,
            QUERY_STRING=query,
            CONTENT_TYPE=self.headers.get("Content-Type", ""),
            CONTENT_LENGTH=str(len(body)),
            REMOTE_ADDR=self.client_address[0],
        )
        for name, value in self.headers.items():
            if name.lower() not in ("content-type", "content-length"):
                env["HTTP_" + name.upper().replace("-", "_")] = value
        done = subprocess.run(
            [require_git(), "http-backend"], input=body, env=env, capture_output=True, timeout=60
        )
        head, _, out = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, []
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, format: str, *args: object) -> None:
        pass


class GitServer:
    """Serves the bare repositories under `root` at http(s)://127.0.0.1:<port>/<name>.git; over
    HTTPS when given a server-side `tls` context."""

    def __init__(self, root: Path, tls: ssl.SSLContext | None = None) -> None:
        handler = type("Backend", (_Backend,), {"root": root})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        if tls is not None:  # HTTPS: the handshake runs in accept(), on the serving thread
            self._server.socket = tls.wrap_socket(self._server.socket, server_side=True)
        self.scheme = "http" if tls is None else "https"
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.port}"

    def start(self) -> GitServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
