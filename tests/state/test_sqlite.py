"""A state file shared by the worker processes of one machine: positions without gaps or
repeats, records, a bounded number of sessions, and one journal for every worker."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import REPO
from virt.errors import StateLimit, StateUnavailable
from virt.match.journal import Journal
from virt.state.base import MAX_RECORDS, SERVED_KEPT
from virt.state.sqlite import SqliteState

_ADVANCER = """
import sys
from pathlib import Path
from virt.state.sqlite import SqliteState
state = SqliteState(Path(sys.argv[1]))
sys.stdin.readline()  # both processes start together
print(" ".join(str(state.advance("polling\\0GET /job")) for _ in range(int(sys.argv[2]))))
"""


def test_two_processes_advancing_one_cursor_get_every_position_once(tmp_path: Path) -> None:
    path, each = tmp_path / "state.db", 300
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _ADVANCER, str(path), str(each)],
            cwd=REPO,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(b"go\n")
        p.stdin.flush()
    seen: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=60)
        assert p.returncode == 0, err.decode()
        positions = [int(n) for n in out.split()]
        assert positions == sorted(positions)  # each process sees its own calls in order
        seen += positions
    assert sorted(seen) == list(range(2 * each))
    assert SqliteState(path).advance("polling\0GET /job") == 2 * each


def test_the_file_is_private_and_positions_survive_reopening(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "state.db"
    state = SqliteState(path)
    assert [state.advance("a\0GET /job") for _ in range(3)] == [0, 1, 2]
    assert state.advance("b\0GET /job") == 0
    state.close()
    assert path.stat().st_mode & 0o777 == 0o600
    again = SqliteState(path)
    assert again.advance("a\0GET /job") == 3
    again.clear()
    assert again.advance("a\0GET /job") == 0


def test_records_are_shared_per_session_and_bounded(tmp_path: Path) -> None:
    one, two = SqliteState(tmp_path / "s.db"), SqliteState(tmp_path / "s.db")
    one.put("a", "orders/1", b"\x00{}")
    one.put("a", "orders/2", b"[]")
    one.put("b", "orders/1", b"b's")
    assert two.get("a", "orders/1") == b"\x00{}"
    assert two.names("a", "orders/") == ["orders/1", "orders/2"]
    assert two.names("a", "users/") == []
    assert two.delete("a", "orders/1") is True
    assert one.get("a", "orders/1") is None
    for n in range(MAX_RECORDS - 1):
        one.put("a", f"r/{n}", b"")
    with pytest.raises(StateLimit, match="already holds"):
        two.put("a", "one-more", b"")
    two.put("a", "orders/2", b"replaced")  # replacing one is not one more
    assert one.get("a", "orders/2") == b"replaced"
    two.clear()
    assert one.names("a") == [] and one.get("b", "orders/1") is None


def test_past_the_bound_the_least_recently_used_sessions_are_forgotten(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = SqliteState(tmp_path / "s.db", max_sessions=3)
    for name in "abcde":
        state.advance(f"{name}\0GET /job")
    state.advance("a\0GET /job")  # a is used again: b and c are now the least recent
    state.put("b", "kept", b"")  # ... and b keeps a record, so c is the oldest
    assert state.sessions() == 5
    assert state.prune() == 2
    assert state.sessions() == 3
    assert state.advance("a\0GET /job") == 2  # kept its place
    assert state.advance("c\0GET /job") == 0  # forgotten: starts again
    assert state.get("b", "kept") == b""
    assert "more than 3 sessions" in caplog.text


def test_a_file_that_is_not_sqlite_is_refused_and_left_alone(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("my notes")
    with pytest.raises(StateUnavailable, match=r"notes\.txt is not an SQLite database"):
        SqliteState(path)
    assert path.read_text() == "my notes"
    with pytest.raises(StateUnavailable, match="is a directory"):
        SqliteState(tmp_path)


def test_the_journal_of_every_worker_is_read_from_any(tmp_path: Path) -> None:
    states = [SqliteState(tmp_path / "s.db"), SqliteState(tmp_path / "s.db")]
    one, two = (Journal(shared=state.served()) for state in states)
    assert one.started == two.started
    # each worker writes its entries on a thread of its own: reading flushes a worker's own
    # queue, so the order across workers here is the order of the adds
    one.add(door="direct", method="GET", url="/a", match="exact", status=200, interaction_id=1)
    one.entries(limit=1)
    two.add(door="proxy", method="GET", url="/b", match="miss", status=599, why="no recording")
    two.entries(limit=1)
    one.add(
        door="direct",
        method="POST",
        url="/c",
        match="fuzzy",
        status=201,
        explain={"score": 0.93, "echoed": ["json:$.id"]},
    )
    one.entries(limit=1)
    newest = two.entries()
    assert [e.url for e in newest] == ["/c", "/b", "/a"]
    assert newest[0].explain == {"score": 0.93, "echoed": ["json:$.id"]}
    assert newest[1].why == "no recording" and newest[1].door == "proxy"
    assert [e.seq for e in newest] == sorted((e.seq for e in newest), reverse=True)
    assert [e.url for e in one.entries(match="miss")] == ["/b"]
    assert one.entries(limit=1)[0].url == "/c"
    assert one.counts() == two.counts() == {"exact": 1, "miss": 1, "fuzzy": 1}
    two.clear()
    assert one.entries() == [] and one.counts()["exact"] == 1  # counts run since start
    for state in states:
        state.close()


def test_the_shared_journal_keeps_the_newest_entries(tmp_path: Path) -> None:
    state = SqliteState(tmp_path / "s.db")
    journal = Journal(shared=state.served())
    for n in range(SERVED_KEPT + 50):
        journal.add(door="direct", method="GET", url=f"/{n}", match="exact", status=200)
    entries = journal.entries(limit=SERVED_KEPT)
    assert len(entries) == SERVED_KEPT and entries[0].url == f"/{SERVED_KEPT + 49}"
    assert journal.counts() == {"exact": SERVED_KEPT + 50}
    state.close()


_FORKER = """
import os, sys
from pathlib import Path
from virt.state.sqlite import SqliteState
state = SqliteState(Path(sys.argv[1]))
state.advance("a\\0GET /job")
pid = os.fork()
if pid == 0:
    os._exit(0 if state.advance("a\\0GET /job") == 1 else 3)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status), state._conn is None, state.advance("a\\0GET /job"))
"""


def test_a_fork_closes_the_parents_connection_and_the_child_opens_its_own(
    tmp_path: Path,
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _FORKER, str(tmp_path / "s.db")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["0", "True", "2"]


def test_each_worker_still_counts_its_own_answers(tmp_path: Path) -> None:
    states = [SqliteState(tmp_path / "s.db"), SqliteState(tmp_path / "s.db")]
    one, two = (Journal(shared=state.served()) for state in states)
    one.add(door="direct", method="GET", url="/a", match="exact", status=200)
    two.add(door="direct", method="GET", url="/b", match="miss", status=599)
    two.add(door="direct", method="GET", url="/c", match="miss", status=599)
    assert one.counts_here() == {"exact": 1} and two.counts_here() == {"miss": 2}
    one.entries(limit=1)
    assert two.counts() == {"exact": 1, "miss": 2}
    for state in states:
        state.close()
