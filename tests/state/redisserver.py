"""A real redis-server for the tests: started on a free port of 127.0.0.1, never the system's
service, with persistence off; it can be killed and started again on the same port."""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.helpers import free_port, port_open, wait_for


def redis_server_binary() -> str:
    """The redis-server to run; fails (never skips) the test when there is none."""
    found = shutil.which("redis-server")
    if found is None:
        pytest.fail(
            "redis-server is not installed: the session-state tests need a real one "
            "(apt-get install redis-server, or make system-deps)"
        )
    return found


@dataclass
class RedisServer:
    folder: Path
    password: str = ""
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        self.port = self.port or free_port()
        args = [redis_server_binary(), "--port", str(self.port), "--bind", "127.0.0.1"]
        args += ["--save", "", "--appendonly", "no", "--dir", str(self.folder)]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder
        )
        wait_for(lambda: port_open(self.port), what=f"redis-server on port {self.port}")
        return self

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
        wait_for(lambda: not port_open(self.port), what="redis-server to stop")
