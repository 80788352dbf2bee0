"""run_workers with real forked processes: each worker gets its index, signals reach them all,
and a worker that dies takes the others down and is named."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from tests.helpers import REPO, wait_for
from virt.errors import ConfigError
from virt.match.journal import Journal
from virt.server.workers import run_workers
from virt.state.sqlite import SqliteState

# The parent under test: run_workers in a fresh interpreter with no threads, as virt serve
# runs it. Each worker writes its pid to <folder>/<index>.pid, then does what BEHAVIOUR says.
_PARENT = """
import logging, os, signal, sys, time
from pathlib import Path
from virt.server.workers import run_workers
from virt.state.sqlite import SqliteState

logging.basicConfig(level=logging.INFO, format="%(message)s")
folder, count, behaviour = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
if behaviour == "advance":  # opened before the fork, as virt serve --workers does
    from virt.match.journal import Journal
    from virt.state.sqlite import SqliteState

    state = SqliteState(folder / "state.db")
    journal = Journal(shared=state.served())

def work(index):
    if behaviour == "advance":
        positions = [state.advance("polling\\0GET /job") for _ in range(200)]
        journal.add(door="direct", method="GET", url=f"/{index}", match="exact", status=200)
        journal.entries()  # written
        (folder / f"{index}.positions").write_text(" ".join(map(str, positions)))
    (folder / f"{index}.pid").write_text(str(os.getpid()))
    if behaviour == "raise" and index == 1:
        raise RuntimeError("worker one breaks")
    if behaviour == "stubborn":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if behaviour == "graceful":
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(0.05)

sys.exit(run_workers(count, work, grace=float(os.environ.get("GRACE", "10"))))
"""


def _start(folder: Path, count: int, behaviour: str, grace: float = 10) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _PARENT, str(folder), str(count), behaviour],
        cwd=REPO,
        env={**os.environ, "GRACE": str(grace)},
        stderr=subprocess.PIPE,
        text=True,
    )


def _pids(folder: Path, count: int) -> list[int]:
    wait_for(lambda: len(list(folder.glob("*.pid"))) == count, what=f"{count} workers")
    wait_for(lambda: all((folder / f"{i}.pid").read_text() for i in range(count)), what="pids")
    return [int((folder / f"{i}.pid").read_text()) for i in range(count)]


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
@pytest.mark.parametrize("behaviour", ["default", "graceful"])
def test_a_signal_to_the_parent_stops_every_worker_cleanly(
    tmp_path: Path, sig: signal.Signals, behaviour: str
) -> None:
    parent = _start(tmp_path, 3, behaviour)
    pids = _pids(tmp_path, 3)
    assert len(set(pids)) == 3 and parent.pid not in pids
    parent.send_signal(sig)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == 0, err
    assert all(_gone(pid) for pid in pids)


def test_a_worker_killed_stops_the_others_and_is_named(tmp_path: Path) -> None:
    parent = _start(tmp_path, 3, "default")
    pids = _pids(tmp_path, 3)
    os.kill(pids[1], signal.SIGKILL)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode != 0
    assert f"worker 1 (pid {pids[1]}) was killed by SIGKILL; stopping the others" in err
    assert all(_gone(pid) for pid in pids)


def test_a_worker_that_raises_is_logged_and_fails_the_run(tmp_path: Path) -> None:
    parent = _start(tmp_path, 2, "raise")
    pids = _pids(tmp_path, 2)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == 1
    assert "worker 1 failed" in err and "RuntimeError: worker one breaks" in err
    assert f"worker 1 (pid {pids[1]}) exited with 1; stopping the others" in err
    assert _gone(pids[0])


def test_a_worker_that_will_not_stop_is_killed_after_the_grace(tmp_path: Path) -> None:
    parent = _start(tmp_path, 2, "stubborn", grace=0.5)
    pids = _pids(tmp_path, 2)
    parent.send_signal(signal.SIGTERM)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode != 0
    assert "worker 0 did not stop within 0.5s: killing it" in err
    assert "worker 1 did not stop within 0.5s: killing it" in err
    assert all(_gone(pid) for pid in pids)


def test_workers_forked_after_opening_a_state_file_share_positions_and_journal(
    tmp_path: Path,
) -> None:
    parent = _start(tmp_path, 2, "advance")
    _pids(tmp_path, 2)
    parent.send_signal(signal.SIGTERM)
    _, err = parent.communicate(timeout=30)
    assert parent.returncode == 0, err
    seen = [int(n) for i in range(2) for n in (tmp_path / f"{i}.positions").read_text().split()]
    assert sorted(seen) == list(range(400))
    journal = Journal(shared=SqliteState(tmp_path / "state.db").served())
    assert sorted(e.url for e in journal.entries()) == ["/0", "/1"]


def test_forking_with_a_thread_running_is_refused() -> None:
    done = threading.Event()
    thread = threading.Thread(target=done.wait, name="busy-thread")
    thread.start()
    try:
        with pytest.raises(RuntimeError, match=r"before any thread starts; running: .*busy-thread"):
            run_workers(2, lambda index: None)
    finally:
        done.set()
        thread.join()


def test_no_workers_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="0 workers"):
        run_workers(0, lambda index: None)
