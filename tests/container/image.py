"""The virt image, built once per change of what goes into it and kept between runs.

Its name carries a hash of the Dockerfile and the files it copies, so an unchanged tree reuses
the image built before; a changed one rebuilds only the layers that changed (buildah's layer
cache). Built with buildah's overlay storage under ~/.cache/virt-tests/ where the kernel allows
it (each step is then a mount, not a copy), else vfs; one build at a time (a lock), and the
older test images are removed after a new one is made. Losing the cache costs one build.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers import REPO

CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "virt-tests"
NAME = "localhost/virt-test"
MAX_STORAGE = 4 * 2**30
INPUTS = ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md", "container", "virt")


@functools.cache
def storage() -> list[str]:
    """buildah's options for the tests' storage: overlay when this kernel mounts it, else vfs."""
    for driver in ("overlay", "vfs"):
        root = CACHE / f"containers-{driver}"
        command = ["buildah", "--storage-driver", driver, "--root", str(root)]
        command += ["--runroot", str(root / "run")]
        probe = subprocess.run([*command, "from", "scratch"], capture_output=True, text=True)
        if probe.returncode == 0:
            subprocess.run([*command, "rm", probe.stdout.strip()], capture_output=True)
            return command
    pytest.fail(f"buildah cannot make a container here: {probe.stderr.strip()}")


def image_tag() -> str:
    digest = hashlib.sha256()
    for name in INPUTS:
        path = REPO / name
        files = [path] if path.is_file() else sorted(path.rglob("*"))
        for f in files:
            if f.is_file() and "__pycache__" not in f.parts:
                digest.update(str(f.relative_to(REPO)).encode() + b"\0" + f.read_bytes())
    return f"{NAME}:{digest.hexdigest()[:16]}"


@functools.cache
def built_image() -> tuple[list[str], str]:
    """(buildah with the tests' storage, the image's name), building it when missing; once
    per test session."""
    if shutil.which("buildah") is None:
        pytest.fail("buildah is missing: make system-deps installs it")
    CACHE.mkdir(parents=True, exist_ok=True)
    with _locked(CACHE / "image.lock"):
        buildah = storage()
        tag = image_tag()
        if subprocess.run(
            [*buildah, "inspect", "--type", "image", tag], capture_output=True
        ).returncode:
            driver, root = buildah[2], buildah[4]
            env = {**os.environ, "VIRT_BUILDAH_DRIVER": driver, "VIRT_BUILDAH_ROOT": root}
            done = subprocess.run(
                [
                    sys.executable,
                    str(REPO / "container" / "build.py"),
                    "--engine",
                    "buildah",
                    "--tag",
                    tag,
                ],
                env=env,
                capture_output=True,
                text=True,
            )
            assert done.returncode == 0, f"make image failed:\n{done.stderr[-4000:]}"
            _remove_older(buildah, tag)
    return buildah, tag


def image_config(buildah: list[str], tag: str) -> dict[str, object]:
    inspected = subprocess.run(
        [*buildah, "inspect", "--type", "image", tag], capture_output=True, text=True, check=True
    )
    config: dict[str, object] = json.loads(inspected.stdout)["Docker"]["config"]
    return config


def _remove_older(buildah: list[str], keep: str) -> None:
    """Remove the test images built before `keep`; past MAX_STORAGE, also the untagged layers
    kept as the build cache (the next build then fetches the dependencies again)."""
    listed = subprocess.run(
        [*buildah, "images", "--format", "{{.Name}}:{{.Tag}}"], capture_output=True, text=True
    )
    for name in listed.stdout.split():
        if name.startswith(NAME + ":") and name != keep:
            subprocess.run([*buildah, "rmi", name], capture_output=True)
    used = subprocess.run(["du", "-sb", buildah[4]], capture_output=True, text=True).stdout
    if used and int(used.split()[0]) > MAX_STORAGE:
        subprocess.run([*buildah, "rmi", "--prune"], capture_output=True)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
