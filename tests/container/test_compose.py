"""examples/compose/: the compose file validates and agrees with the Dockerfile, and its README's
walk-through works when followed by hand: the service under test and its upstreams run as plain
processes with the environment the compose file gives them, record once, then replay with the
upstreams switched off."""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.container.compose import (
    COMPOSE_DIR,
    Translation,
    compose_config,
    dockerfile_final_stage,
)
from tests.helpers import VirtProcess, clean_env, health_ok, port_open, wait_for
from virt.cli.serve import serve_command

TOKEN = "compose-walkthrough-token"


def test_compose_file_validates_and_agrees_with_the_dockerfile() -> None:
    config = compose_config(VIRT_ADMIN_TOKEN=TOKEN)
    image = dockerfile_final_stage()
    virt = config["services"]["virt"]
    env = virt["environment"]
    assert env["VIRT_MODE"] == "replay"
    # every VIRT_* the compose file sets is a setting of the image's command, virt serve
    known = {p.envvar for p in serve_command.params if isinstance(p.envvar, str)}
    assert {k for k in env if k.startswith("VIRT_")} <= known
    # the doors it publishes are the ones the image exposes, on the ports it sets
    published = {int(str(p).split(":")[-1].split("/")[0]) for p in virt["ports"]}
    assert published == image["EXPOSE"] == {int(env["VIRT_PORT"]), int(env["VIRT_PROXY_PORT"])}
    # the image's volumes are mounted, and the database and the CA live on them
    targets = {str(v).split(":")[1] for v in virt["volumes"]}
    assert set(image["VOLUME"]) <= targets
    assert env["VIRT_DB"].startswith("/recordings/") and env["VIRT_CONFDIR"] == "/ca"
    assert image["ENTRYPOINT"] == ["virt"] and image["CMD"] == ["serve"]
    assert image["USER"] != "root"
    # the service under test reaches the proxy door and trusts the CA from the shared volume
    app = config["services"]["app"]
    assert app["environment"]["HTTPS_PROXY"] == f"http://virt:{env['VIRT_PROXY_PORT']}"
    assert "virt" in app["environment"]["NO_PROXY"].split(",")
    ca_volume = next(str(v) for v in virt["volumes"] if str(v).split(":")[1] == "/ca").split(":")[0]
    app_ca = next(str(v) for v in app["volumes"] if str(v).startswith(ca_volume + ":"))
    assert app["environment"]["SSL_CERT_FILE"].startswith(app_ca.split(":")[1] + "/")
    assert app["depends_on"]["virt"]["condition"] == "service_healthy"
    assert (
        "HEALTHCHECK" in image
        and "/__virt/health"
        in (Path(__file__).parents[2] / "container" / "healthcheck.py").read_text()
    )
    # the upstreams are only there to record
    for name in ("auth", "catalog", "payments"):
        assert config["services"][name].get("profiles") == ["record"]


def test_record_once_then_replay_with_the_upstreams_off(tmp_path: Path) -> None:
    recordings = tmp_path / "recordings"
    recordings.mkdir()
    record = compose_config(VIRT_MODE="record", VIRT_ADMIN_TOKEN=TOKEN)
    here = Translation.of(record, tmp_path, {str(COMPOSE_DIR / "recordings"): recordings})
    app_url = f"http://127.0.0.1:{here.ports['app'][8001]}"

    with contextlib.ExitStack() as stack:
        _run(record, here, "upstream-tls", tmp_path)
        upstreams = [
            stack.enter_context(_process(record, here, name, tmp_path))
            for name in ("auth", "catalog", "payments")
        ]
        for name in ("auth", "catalog", "payments"):
            port = next(iter(here.ports[name].values()))
            wait_for(lambda port=port: port_open(port), what=f"{name} upstream")
        recorder = _virt(record, here, tmp_path)
        try:
            with _process(record, here, "app", tmp_path) as app:
                wait_for(lambda: port_open(here.ports["app"][8001]), what="the app")
                recorded = httpx.get(f"{app_url}/checkout/1", timeout=30)
                assert recorded.status_code == 200, recorded.text
                assert recorded.json()["item"] == "kettle"
                assert recorded.json()["charged"] == 2500
                assert recorder.stop() == 0
                for upstream in upstreams:  # the real APIs are gone from here on
                    upstream.terminate()
                    upstream.wait(10)

                replay = compose_config(VIRT_ADMIN_TOKEN=TOKEN)
                replayer = _virt(replay, here, tmp_path)
                try:
                    replayed = httpx.get(f"{app_url}/checkout/1", timeout=30)
                    assert replayed.status_code == 200, replayed.text
                    assert replayed.json() == recorded.json()
                    admin = f"http://127.0.0.1:{here.ports['virt'][8000]}/__virt/journal"
                    journal = httpx.get(
                        admin,
                        params={"match": "miss"},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    )
                    assert journal.status_code == 200 and journal.json()["entries"] == []
                finally:
                    replayer.stop()
                assert app.poll() is None, "the app stopped"
        finally:
            recorder.stop()
    assert (recordings / "shop.db").exists()


def _virt(config: dict[str, Any], here: Translation, cwd: Path) -> VirtProcess:
    """virt as the image runs it (its CMD, serve), with the compose file's environment; on
    loopback here, where the image listens on 0.0.0.0."""
    env = clean_env(**here.env(config, "virt"), VIRT_HOST="127.0.0.1")
    recording = env["VIRT_MODE"] == "record"
    port = int(env["VIRT_PROXY_PORT"] if recording else env["VIRT_PORT"])
    ready = (lambda: port_open(port)) if recording else (lambda: health_ok(port))
    return VirtProcess(["serve"], env, cwd).start(ready)


def _command(config: dict[str, Any], here: Translation, service: str) -> list[str]:
    spec = config["services"][service]
    words = list(spec.get("entrypoint") or []) + list(spec.get("command") or [])
    return [sys.executable if w == "python" else here.value(service, str(w)) for w in words]


def _run(config: dict[str, Any], here: Translation, service: str, cwd: Path) -> None:
    """A one-shot service (upstream-tls), to its end."""
    env = clean_env(**here.env(config, service))
    done = subprocess.run(_command(config, here, service), env=env, cwd=cwd, timeout=60)
    assert done.returncode == 0, f"{service} failed"


@contextlib.contextmanager
def _process(
    config: dict[str, Any], here: Translation, service: str, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    env = clean_env(**here.env(config, service), HOST="127.0.0.1")
    log = (cwd / f"{service}.log").open("wb")
    proc = subprocess.Popen(
        _command(config, here, service), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)
        log.close()
