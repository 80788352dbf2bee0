"""examples/compose/docker-compose.yml as the tests read it: parsed by docker-compose itself
(`docker-compose config`), then each service's environment translated for a plain process on
this machine: service names become loopback addresses, ports free ones, and mounted paths the
folders standing in for the volumes."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.helpers import REPO, clean_env, free_port

COMPOSE_DIR = REPO / "examples" / "compose"
COMPOSE_FILE = COMPOSE_DIR / "docker-compose.yml"
DOCKERFILE = REPO / "Dockerfile"


def compose_config(**env: str) -> dict[str, Any]:
    """The compose file as docker-compose resolves it (variables interpolated, defaults filled)
    with `env`; fails the test with docker-compose's own message when it does not validate."""
    if shutil.which("docker-compose") is None:
        pytest.fail("docker-compose is missing: make system-deps installs it")
    done = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE_FILE), "config"],
        env=clean_env(**env),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    config: dict[str, Any] = yaml.safe_load(done.stdout)
    return config


def dockerfile_final_stage() -> dict[str, Any]:
    """ENV, EXPOSE, VOLUME, USER, HEALTHCHECK, ENTRYPOINT and CMD of the Dockerfile's last stage."""
    text = re.sub(r"\\\n\s*", " ", DOCKERFILE.read_text())
    stage = text[text.rindex("\nFROM ") :]
    found: dict[str, Any] = {}
    for line in stage.splitlines():
        word, _, rest = line.strip().partition(" ")
        if word == "ENV":
            found["ENV"] = dict(pair.split("=", 1) for pair in rest.split())
        elif word == "EXPOSE":
            found["EXPOSE"] = {int(port) for port in rest.split()}
        elif word in ("VOLUME", "ENTRYPOINT", "CMD"):
            found[word] = yaml.safe_load(rest)
        elif word in ("USER", "HEALTHCHECK"):
            found[word] = rest
    return found


@dataclass
class Translation:
    """Where each service of the compose file runs here: its host and port numbers."""

    root: Path
    hosts: dict[str, str] = field(default_factory=dict)
    ports: dict[str, dict[int, int]] = field(default_factory=dict)
    mounts: dict[str, dict[str, Path]] = field(default_factory=dict)

    @classmethod
    def of(cls, config: dict[str, Any], root: Path, bind: dict[str, Path]) -> Translation:
        """`bind` maps a bind mount's source folder to the folder that stands for it here."""
        t = cls(root)
        for name, service in config["services"].items():
            t.hosts[name] = "localhost" if name == "virt" else "127.0.0.1"
            own = {int(str(p).split(":")[-1].split("/")[0]) for p in _ports(service)}
            port = (service.get("environment") or {}).get("PORT")
            if port:
                own.add(int(port))
            for key in ("VIRT_PORT", "VIRT_PROXY_PORT"):
                if key in (service.get("environment") or {}):
                    own.add(int(service["environment"][key]))
            t.ports[name] = {p: free_port() for p in sorted(own)}
            t.mounts[name] = {}
            for volume in service.get("volumes", []):
                source, target = str(volume).split(":")[:2]
                here = bind.get(source) or (Path(source) if source.startswith("/") else None)
                if here is None:  # a named volume: one folder, shared as compose shares it
                    here = root / "volumes" / source
                    here.mkdir(parents=True, exist_ok=True)
                    here.chmod(0o777)
                t.mounts[name][target] = here
        return t

    def env(self, config: dict[str, Any], service: str) -> dict[str, str]:
        """The service's environment from the compose file, as a process here needs it."""
        out: dict[str, str] = {}
        for key, value in (config["services"][service].get("environment") or {}).items():
            if key.upper() == "NO_PROXY":
                out[key] = ",".join(self.hosts.get(h, h) for h in str(value).split(","))
            else:
                out[key] = self.value(service, str(value))
        return out

    def value(self, service: str, value: str) -> str:
        own = self.ports[service]
        if value.isdigit() and int(value) in own:
            return str(own[int(value)])
        for name, host in self.hosts.items():
            for old, new in self.ports[name].items():
                value = value.replace(f"://{name}:{old}", f"://{host}:{new}")
        for target, here in sorted(self.mounts[service].items(), key=lambda m: -len(m[0])):
            if value == target or value.startswith(target + "/"):
                return str(here) + value[len(target) :]
        return value


def _ports(service: dict[str, Any]) -> list[Any]:
    return [p.get("target") if isinstance(p, dict) else p for p in service.get("ports", [])]
