"""The image built from the Dockerfile (make image, here with buildah: no Docker engine), run
through its entrypoint with the compose file's environment: it waits for nothing but its own
health check, replays a committed recording through both doors, and runs as a non-root user.
buildah's chroot isolation shares this machine's loopback, so the doors are reached directly."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.container.compose import compose_config
from tests.container.image import built_image, image_config
from tests.helpers import REPO, free_port, health_ok, trusting, wait_for

pytestmark = pytest.mark.image

TOKEN = "image-test-token"
UID = 10001
RECORDING = REPO / "tests" / "data" / "image-replay.db"
"""One exchange, recorded with `virt record --no-redact` from demo.upstream over HTTPS."""
RECORDED = "https://127.0.0.1:44825/users/1"
ANSWER = b'{"id":1,"name":"Ada"}'


@pytest.mark.timeout(1800)  # a first build: debootstrap, then pip; later runs reuse both
def test_image_replays_a_committed_recording_through_both_doors_as_a_non_root_user(
    tmp_path: Path,
) -> None:
    buildah, tag = built_image()
    config = image_config(buildah, tag)
    env = compose_config(VIRT_ADMIN_TOKEN=TOKEN)["services"]["virt"]["environment"]
    # the container's ports are the compose file's; here they share the loopback with the rest
    port, proxy_port = free_port(), free_port()
    env = {**env, "VIRT_PORT": str(port), "VIRT_PROXY_PORT": str(proxy_port)}
    recordings, ca = _volumes(tmp_path, Path(str(env["VIRT_DB"])).name)
    mounts = ["-v", f"{recordings}:/recordings", "-v", f"{ca}:/ca"]
    command = [*config["Entrypoint"], *config["Cmd"]]  # type: ignore[misc]

    with (
        _container(buildah, tag) as container,
        _running(
            [
                *buildah,
                "run",
                "--isolation",
                "chroot",
                *mounts,
                *_env(env),
                container,
                "--",
                *command,
            ],
            tmp_path / "virt.log",
        ) as proc,
    ):
        wait_for(lambda: health_ok(port) or proc.poll() is not None, 60, "the image's virt")
        assert proc.poll() is None, (tmp_path / "virt.log").read_text()

        # the image's own HEALTHCHECK, run inside it as the engine would
        check = config["Healthcheck"]["Test"]  # type: ignore[index]
        assert check[0] == "CMD"
        healthy = subprocess.run(
            [*buildah, "run", "--isolation", "chroot", *_env(env), container, "--", *check[1:]],
            capture_output=True,
            text=True,
        )
        assert healthy.returncode == 0, healthy.stderr

        direct = httpx.get(f"http://127.0.0.1:{port}/users/1")
        assert direct.status_code == 200
        assert direct.content == ANSWER
        assert not direct.headers["x-virt-match"].startswith(("miss", "fallback"))
        with httpx.Client(
            proxy=f"http://127.0.0.1:{proxy_port}", verify=trusting(ca / "mitmproxy-ca-cert.pem")
        ) as client:
            proxied = client.get(RECORDED)
        assert proxied.status_code == 200
        assert proxied.content == direct.content
        assert (ca / "virt-ca-bundle.pem").exists()  # for the other services of the compose file

        pid = _serving_pid(port)
        uids = _status(pid, "Uid")
        assert uids[:2] == [str(UID), str(UID)], f"virt runs as {uids}"
        os.kill(pid, 15)  # its own process: buildah run need not pass signals on
        proc.wait(30)
        assert proc.returncode == 0, (tmp_path / "virt.log").read_text()


def test_image_refuses_all_interfaces_without_a_token_in_one_line(tmp_path: Path) -> None:
    buildah, tag = built_image()
    config = image_config(buildah, tag)
    env = compose_config(VIRT_ADMIN_TOKEN=TOKEN)["services"]["virt"]["environment"]
    env = {k: v for k, v in env.items() if k != "VIRT_ADMIN_TOKEN"}
    env |= {"VIRT_PORT": str(free_port()), "VIRT_PROXY_PORT": str(free_port())}
    recordings, ca = _volumes(tmp_path, "shop.db")
    mounts = ["-v", f"{recordings}:/recordings", "-v", f"{ca}:/ca"]
    command = [*config["Entrypoint"], *config["Cmd"]]  # type: ignore[misc]
    with _container(buildah, tag) as container:
        done = subprocess.run(
            [
                *buildah,
                "run",
                "--isolation",
                "chroot",
                *mounts,
                *_env(env),
                container,
                "--",
                *command,
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode == 1
    lines = [line for line in done.stderr.splitlines() if line.startswith("virt:")]
    assert lines == [
        "virt: --host 0.0.0.0 exposes the admin API beyond this machine without a token"
    ]
    assert "VIRT_NO_ADMIN=1" in done.stderr and "Traceback" not in done.stderr


def _volumes(tmp_path: Path, db_name: str) -> tuple[Path, Path]:
    """The recordings volume with the committed recording as `db_name`, and an empty CA
    volume: both owned by the image's user, as a fresh named volume would be."""
    recordings, ca = tmp_path / "recordings", tmp_path / "ca"
    recordings.mkdir()
    ca.mkdir()
    shutil.copy(RECORDING, recordings / db_name)
    for path in (recordings, ca, *recordings.iterdir()):
        os.chown(path, UID, UID)
    return recordings, ca


def _env(env: dict[str, object]) -> list[str]:
    return [f"--env={key}={value}" for key, value in env.items()]


@contextlib.contextmanager
def _container(buildah: list[str], tag: str) -> Iterator[str]:
    made = subprocess.run(
        [*buildah, "from", "--pull=never", tag], capture_output=True, text=True, check=True
    )
    name = made.stdout.strip()
    # buildah 1.28's `run -v` leaves both empty when it binds both of the image's VOLUMEs (one
    # alone works): the working container forgets them, and the binds below stand for them
    volumes = image_config(buildah, tag)["Volumes"]
    assert isinstance(volumes, dict)
    forget = [f"--volume={path}-" for path in volumes]
    subprocess.run([*buildah, "config", *forget, name], capture_output=True, check=True)
    try:
        yield name
    finally:
        subprocess.run([*buildah, "rm", name], capture_output=True)


@contextlib.contextmanager
def _running(command: list[str], log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            with contextlib.suppress(AssertionError):
                os.kill(_serving_pid(int(_port_of(command))), 15)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def _port_of(command: list[str]) -> str:
    return next(c.split("=", 2)[2] for c in command if c.startswith("--env=VIRT_PORT="))


def _serving_pid(port: int) -> int:
    """The process whose environment says VIRT_PORT=`port`: virt, started by buildah run in
    the image (chroot isolation shares this machine's process table)."""
    wanted = f"VIRT_PORT={port}".encode()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
            if wanted in (entry / "environ").read_bytes().split(b"\0") and any(
                part.endswith(b"/virt") for part in cmdline
            ):
                return int(entry.name)
    raise AssertionError(f"no virt process serving on port {port}")


def _status(pid: int, field: str) -> list[str]:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return line.split()[1:]
    raise AssertionError(f"/proc/{pid}/status has no {field}")
