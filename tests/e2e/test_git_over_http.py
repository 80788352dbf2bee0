"""git over smart HTTP, recorded through `virt record` and replayed through `virt serve`: the
recorded clone works again, and what was never recorded (a shallow clone, a fetch of a commit
made after recording, a POST that is not git at all) is a miss, never the recorded pack.

Git's requests are binary (pkt-lines, sometimes gzipped) and its answers are packfiles: a wrong
answer here is a corrupt or stale repository presented as a confident match."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.gitserver import GitServer, git
from tests.helpers import start_recording

UPLOAD_PACK = {
    "Content-Type": "application/x-git-upload-pack-request",
    "Accept": "application/x-git-upload-pack-result",
    "Git-Protocol": "version=2",
    "User-Agent": "git/2.39.5",
    "Accept-Language": "C, *;q=0.9",
}


@dataclass
class Recorded:
    db: Path
    home: Path
    head: str
    """The branch's commit when the clone was recorded."""
    later: str
    """A commit pushed to the server after recording."""


def commit(home: Path, repo: Path, name: str, text: str) -> str:
    (repo / name).write_text(text)
    assert git(home, "add", name, cwd=repo).returncode == 0
    done = git(home, "commit", "-q", "-m", f"add {name}", cwd=repo)
    assert done.returncode == 0, done.stderr
    return git(home, "rev-parse", "HEAD", cwd=repo).stdout.strip()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Iterator[Recorded]:
    """A repository of two commits, cloned over HTTP through `virt record`; then a third
    commit is pushed and the server stops."""
    tmp = tmp_path_factory.mktemp("git")
    home, src, root = tmp / "home", tmp / "src", tmp / "root"
    home.mkdir()
    root.mkdir()
    assert git(home, "init", "-q", "-b", "main", str(src)).returncode == 0
    commit(home, src, "README", "a repository served over smart HTTP\n")
    head = commit(home, src, "data.bin", "".join(chr(i % 250 + 1) for i in range(5000)))
    assert git(home, "clone", "-q", "--bare", str(src), str(root / "repo.git")).returncode == 0
    server = GitServer(root).start()
    db = tmp / "git.db"
    recorder, port = start_recording(db, confdir, tmp)
    try:
        done = git(
            home,
            "-c",
            f"http.proxy=http://127.0.0.1:{port}",
            "clone",
            f"{server.url}/repo.git",
            str(tmp / "recorded-clone"),
        )
        assert done.returncode == 0, done.stderr
    finally:
        assert recorder.stop() == 0, recorder.output()
    later = commit(home, src, "later.txt", "made after recording\n")
    assert git(home, "push", "-q", str(root / "repo.git"), "main", cwd=src).returncode == 0
    server.stop()
    yield Recorded(db, home, head, later)


def journal(port: int) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = httpx.get(
        f"http://127.0.0.1:{port}/__virt/journal", params={"limit": 1000}
    ).json()["entries"]
    return entries


def replay_clone(recorded: Recorded, port: int, dest: Path, *extra: str) -> Any:
    return git(recorded.home, "clone", *extra, f"http://127.0.0.1:{port}/repo.git", str(dest))


def test_the_recorded_clone_replays(recorded: Recorded, virt: Any, tmp_path: Path) -> None:
    _, port, _ = virt.serve(recorded.db, proxy=False)
    done = replay_clone(recorded, port, tmp_path / "clone")
    assert done.returncode == 0, done.stderr
    head = git(recorded.home, "rev-parse", "HEAD", cwd=tmp_path / "clone").stdout.strip()
    assert head == recorded.head
    assert git(recorded.home, "fsck", cwd=tmp_path / "clone").returncode == 0


def test_a_shallow_clone_never_recorded_is_a_miss(
    recorded: Recorded, virt: Any, tmp_path: Path
) -> None:
    _, port, _ = virt.serve(recorded.db, proxy=False)
    done = replay_clone(recorded, port, tmp_path / "shallow", "--depth", "1")
    assert done.returncode != 0, "a shallow clone was answered with the recorded full pack"
    assert "599" in done.stderr, done.stderr
    posts = [e for e in journal(port) if e["method"] == "POST"]
    assert posts and posts[0]["match"] == "miss", posts


def test_fetching_what_was_pushed_after_recording_is_a_miss(
    recorded: Recorded, virt: Any, tmp_path: Path
) -> None:
    _, port, _ = virt.serve(recorded.db, proxy=False)
    clone = tmp_path / "clone"
    assert replay_clone(recorded, port, clone).returncode == 0
    fetch = git(recorded.home, "fetch", "origin", cwd=clone)
    assert fetch.returncode != 0, f"a fetch never recorded was answered: {fetch.stderr}"
    by_sha = git(recorded.home, "fetch", "origin", recorded.later, cwd=clone)
    assert by_sha.returncode != 0, f"a commit never recorded was fetched: {by_sha.stderr}"
    assert git(recorded.home, "cat-file", "-e", recorded.later, cwd=clone).returncode != 0
    misses = [e for e in journal(port) if e["method"] == "POST" and e["match"] == "miss"]
    assert len(misses) >= 2, journal(port)
    assert not any(e["method"] == "POST" and e["match"] == "fuzzy" for e in journal(port)), (
        "a git request never recorded was answered with a recorded one"
    )


def test_a_post_that_is_not_git_is_a_miss(recorded: Recorded, virt: Any) -> None:
    _, port, _ = virt.serve(recorded.db, proxy=False)
    resp = httpx.post(
        f"http://127.0.0.1:{port}/repo.git/git-upload-pack",
        content=b"this is not git at all",
        headers=UPLOAD_PACK,
    )
    assert resp.status_code == 599, (resp.headers, resp.content[:200])
    assert resp.headers["x-virt-match"] == "miss"
    # the route is known, and its answers are packs: nothing is made up for it, and it says so
    report = resp.json()
    assert report["route"].endswith("/repo.git/git-upload-pack")
    assert "not JSON" in report["why"]
