"""Build the virt image from the Dockerfile: `make image` runs this.

With a Docker engine, `docker build`. Without one, buildah (vfs storage, chroot isolation),
which needs no daemon. Where the base image (python:3.11-slim) cannot be pulled, a local
stand-in is made from Debian's own Python (debootstrap, about a minute) and cached under
~/.cache/virt-tests/, so the unchanged Dockerfile builds with --build-arg BASE=<stand-in>.
The host's pip settings (index, certificate bundle) reach the build stage as build-time volumes
(a pip.conf and the files it names), never as part of the image.

Standard library only: it runs before virt is installed anywhere.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_TAG = "localhost/virt:latest"
DEFAULT_BASE = "python:3.11-slim"
STAND_IN = "localhost/virt-stand-in/python:3.11-bookworm"
"""Debian bookworm's python3 is 3.11, as python:3.11-slim."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "virt-tests"
MIRROR = os.environ.get("VIRT_DEBIAN_MIRROR", "http://deb.debian.org/debian")


def buildah_command(driver: str = "vfs", root: str = "") -> list[str]:
    """buildah with a storage driver (vfs works everywhere, without kernel support; overlay is
    much faster where it works) and, optionally, a storage folder of its own."""
    command = ["buildah", "--storage-driver", driver]
    if root:
        command += ["--root", root, "--runroot", str(Path(root) / "run")]
    return command


# VIRT_BUILDAH_DRIVER=overlay and VIRT_BUILDAH_ROOT=folder for another storage (the tests')
BUILDAH = buildah_command(
    os.environ.get("VIRT_BUILDAH_DRIVER", "vfs"), os.environ.get("VIRT_BUILDAH_ROOT", "")
)
# pip's settings that say where packages come from: given to the build stage, not the image
PIP_SETTINGS = ("index-url", "extra-index-url", "find-links", "cert", "trusted-host")


class BuildError(Exception):
    """Why the image could not be built, with what to do about it."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tag", default=DEFAULT_TAG, help=f"image name (default {DEFAULT_TAG})")
    parser.add_argument("--base", default=DEFAULT_BASE, help=f"base image (default {DEFAULT_BASE})")
    parser.add_argument(
        "--engine", choices=("auto", "docker", "buildah"), default="auto", help="who builds"
    )
    args = parser.parse_args(argv)
    try:
        engine = _engine(args.engine)
        if engine == "docker":
            _run(["docker", "build", "-t", args.tag, "--build-arg", f"BASE={args.base}", str(REPO)])
        else:
            build_with_buildah(args.tag, base_image(args.base))
    except BuildError as e:
        print(f"make image: {e}", file=sys.stderr)
        return 1
    print(args.tag)
    return 0


def build_with_buildah(tag: str, base: str) -> None:
    """`buildah bud` of the Dockerfile, its layers cached, with the host's pip settings mounted
    as /etc/pip.conf for the RUN steps (volumes are never part of a layer)."""
    settings = pip_settings()
    with tempfile.TemporaryDirectory(prefix="virt-image-") as tmp:
        command = [
            *BUILDAH,
            "bud",
            "--isolation",
            "chroot",
            "--layers",
            "--force-rm",
            "--format",
            "docker",
        ]
        command += ["-t", tag, "--build-arg", f"BASE={base}"]
        if settings:
            conf = Path(tmp) / "pip.conf"
            conf.write_text("[global]\n" + "".join(f"{k} = {v}\n" for k, v in settings.items()))
            conf.chmod(0o644)
            command += ["-v", f"{conf}:/etc/pip.conf:ro"]
            command += [f"-v{path}:{path}:ro" for path in _named_paths(settings)]
        _run([*command, "-f", str(REPO / "Dockerfile"), str(REPO)])


def base_image(base: str) -> str:
    """`base` if it is here or can be pulled, else the Debian stand-in (made once, cached)."""
    if _has_image(base):
        return base
    pulled = subprocess.run([*BUILDAH, "pull", "--quiet", base], capture_output=True, text=True)
    if pulled.returncode == 0:
        return base
    reason = (pulled.stderr.strip().splitlines() or ["no reason given"])[-1]
    print(f"make image: cannot pull {base} ({reason}); using {STAND_IN}", file=sys.stderr)
    return stand_in()


def stand_in() -> str:
    """The stand-in base image: Debian bookworm minbase with python3, and a virtual
    environment at /usr/local so that `python` and `pip` work as in python:3.11-slim."""
    CACHE.mkdir(parents=True, exist_ok=True)
    with _locked(CACHE / "stand-in.lock"):
        if _has_image(STAND_IN):
            return STAND_IN
        rootfs = _rootfs_tarball()
        container = _output([*BUILDAH, "from", "scratch"]).strip()
        try:
            _run([*BUILDAH, "add", container, str(rootfs), "/"])
            venv = ["python3", "-m", "venv", "/usr/local"]
            _run([*BUILDAH, "run", "--isolation", "chroot", container, "--", *venv])
            _run([*BUILDAH, "config", "--env", "LANG=C.UTF-8", "--cmd", "python3", container])
            _run([*BUILDAH, "commit", "--quiet", container, STAND_IN])
        finally:
            subprocess.run([*BUILDAH, "rm", container], capture_output=True)
    return STAND_IN


def _rootfs_tarball() -> Path:
    """debootstrap's bookworm with python3, as a tarball kept in the cache (the minute it takes
    is spent once per machine). Made under another name, renamed when whole."""
    tarball = CACHE / "bookworm-python3-rootfs.tar"
    if tarball.exists():
        return tarball
    if shutil.which("debootstrap") is None:
        raise BuildError("debootstrap is missing: apt-get install debootstrap")
    with tempfile.TemporaryDirectory(dir=CACHE, prefix="rootfs-") as tmp:
        root = Path(tmp) / "root"
        print(f"make image: debootstrap bookworm into {root} (once)", file=sys.stderr)
        _run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv,ca-certificates",
                "bookworm",
                str(root),
                MIRROR,
            ],
            quiet=True,
        )
        shutil.rmtree(root / "var/cache/apt/archives", ignore_errors=True)
        shutil.rmtree(root / "var/lib/apt/lists", ignore_errors=True)
        partial = Path(tmp) / "rootfs.tar"
        _run(["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."])
        partial.rename(tarball)
    return tarball


def pip_settings() -> dict[str, str]:
    """Where the host's pip finds packages (index, extra indexes, find-links, certificate
    bundle): its configuration files, then its PIP_* variables, which win as they do for pip."""
    listed = subprocess.run(
        [sys.executable, "-m", "pip", "config", "list"], capture_output=True, text=True
    ).stdout
    values: dict[str, str] = {}
    for line in listed.splitlines():
        key, _, value = line.partition("=")
        name = key.rsplit(".", 1)[-1]
        if name in PIP_SETTINGS:
            values[name] = value.strip().strip("'\"")
    for name in PIP_SETTINGS:
        env = os.environ.get("PIP_" + name.upper().replace("-", "_"))
        if env:
            values[name] = env
    return values


def _named_paths(settings: dict[str, str]) -> list[Path]:
    """The local files and folders the settings name, to mount at the same paths."""
    paths: set[Path] = set()
    for value in settings.values():
        for item in value.split():
            path = Path(item.removeprefix("file://"))
            if path.is_absolute() and path.exists():
                # a local index's pages link to its files beside simple/ (../../files/...)
                paths.add(path.parent if path.name == "simple" else path)
    return sorted(paths)


def _engine(wanted: str) -> str:
    if wanted != "buildah" and shutil.which("docker"):
        answers = subprocess.run(["docker", "info"], capture_output=True).returncode == 0
        if answers:
            return "docker"
        if wanted == "docker":
            raise BuildError("docker is installed but no Docker engine answers (docker info)")
    if shutil.which("buildah") is None:
        raise BuildError("no Docker engine and no buildah: apt-get install buildah")
    return "buildah"


def _has_image(name: str) -> bool:
    found = subprocess.run([*BUILDAH, "inspect", "--type", "image", name], capture_output=True)
    return found.returncode == 0


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """One process at a time makes the stand-in; the others wait, then find it made."""
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _run(command: list[str], quiet: bool = False) -> None:
    done = subprocess.run(command, capture_output=quiet, text=True)
    if done.returncode != 0:
        detail = f": {done.stderr.strip()[-2000:]}" if quiet and done.stderr else ""
        raise BuildError(f"{' '.join(command[:4])} ... failed (exit {done.returncode}){detail}")


def _output(command: list[str]) -> str:
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise BuildError(f"{' '.join(command)} failed: {done.stderr.strip()}")
    return done.stdout


if __name__ == "__main__":
    sys.exit(main())
