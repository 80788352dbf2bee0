"""Folders that refuse writes: a read-only tmpfs as root (chmod stops no root), else chmod."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest


def _run(*cmd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, check=False)


def _mount_tmpfs(where: Path, options: str) -> str | None:
    """Mount a tmpfs on `where`; the error text when that is not possible, else None."""
    done = _run("mount", "-t", "tmpfs", "-o", options, "tmpfs", str(where))
    return None if done.returncode == 0 else (done.stderr.strip() or f"exit {done.returncode}")


def _umount(where: Path) -> None:
    done = _run("umount", str(where))
    if done.returncode != 0:
        # leave the machine clean, then say why: a busy mount means someone kept a file open
        _run("umount", "-l", str(where))
        raise AssertionError(f"could not unmount {where}: {done.stderr.strip()}")


@contextlib.contextmanager
def read_only_dir(where: Path, populate: Callable[[Path], object] | None = None) -> Iterator[Path]:
    """`where` as a folder no one can write to, holding what `populate` put there first.

    As root only a read-only mount stops writes, so the folder becomes a tmpfs remounted
    read-only; otherwise chmod does it.
    """
    where.mkdir(parents=True, exist_ok=True)
    if os.geteuid() == 0:
        error = _mount_tmpfs(where, "rw,size=16m")
        if error is not None:
            pytest.fail(
                f"running as root, so a read-only folder needs a tmpfs mount, which failed "
                f"({error}); run the tests as a non-root user or with CAP_SYS_ADMIN"
            )
        try:
            if populate is not None:
                populate(where)
            remount = _run("mount", "-o", "remount,ro", str(where))
            assert remount.returncode == 0, f"cannot remount {where} read-only: {remount.stderr}"
            yield where
        finally:
            _umount(where)
        return
    if populate is not None:
        populate(where)
    files = [p for p in where.rglob("*") if p.is_file()]
    for f in files:
        f.chmod(0o444)
    where.chmod(0o555)
    try:
        yield where
    finally:
        where.chmod(0o755)
        for f in files:
            f.chmod(0o644)


@contextlib.contextmanager
def small_disk(where: Path, size: str) -> Iterator[Path]:
    """`where` as a tmpfs of `size` bytes (e.g. "256k"): writes past it fail with ENOSPC."""
    if os.geteuid() != 0:
        pytest.fail("filling a disk needs a tmpfs mount: run this test as root")
    where.mkdir(parents=True, exist_ok=True)
    error = _mount_tmpfs(where, f"size={size}")
    if error is not None:
        pytest.fail(f"cannot mount a {size} tmpfs on {where} ({error}): needs CAP_SYS_ADMIN")
    try:
        yield where
    finally:
        _umount(where)


def fill(folder: Path) -> Path:
    """A file that takes every free byte of `folder`'s file system."""
    filler = folder / "filler"
    with filler.open("wb", buffering=0) as f:
        try:
            while True:
                f.write(b"\0" * 4096)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
    return filler
