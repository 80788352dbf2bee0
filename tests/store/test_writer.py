"""Writer: one thread commits for everyone; a future resolves only once its row is durable."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from concurrent.futures import Future
from pathlib import Path

import pytest

from tests.mounts import fill, small_disk
from virt.errors import NotADatabase, StoreError
from virt.mitm.tasks import spawn
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.store import Store
from virt.store.writer import Writer

DEADLINE = 30.0
"""Seconds a future may take before the test calls it hung (a guard, not a speed goal)."""


def make(path: str, body: bytes = b"", session: str = "s") -> Interaction:
    request = Request("POST", "http", "svc", 80, path, body=body)
    return Interaction(request, Response(201, body=body), session=session)


def submit(writer: Writer, interaction: Interaction) -> Future[Interaction]:
    return writer.submit(interaction, exact_key(interaction.request))


def rows(db: Path) -> dict[int, str]:
    """id -> path of every committed row, read through a connection of our own."""
    conn = sqlite3.connect(db)
    try:
        return dict(conn.execute("SELECT id, path FROM interactions").fetchall())
    finally:
        conn.close()


def test_writes_from_many_threads_are_all_committed_once(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    futures: dict[str, Future[Interaction]] = {}
    lock = threading.Lock()
    start = threading.Barrier(8)

    def client(t: int) -> None:
        start.wait()  # all threads submit at once, so groups mix threads
        for n in range(50):
            path = f"/t{t}/{n}"
            fut = submit(writer, make(path))
            with lock:
                futures[path] = fut

    threads = [threading.Thread(target=client, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    written = {path: fut.result(DEADLINE) for path, fut in futures.items()}
    writer.close()

    assert len(written) == 400
    ids = [w.id for w in written.values()]
    assert None not in ids
    assert len(set(ids)) == 400
    assert sorted(w.seq for w in written.values()) == list(range(1, 401))
    assert rows(db) == {w.id: path for path, w in written.items()}


def test_future_resolves_only_after_the_row_is_committed(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    seen: list[tuple[int | None, bool]] = []

    def on_done(fut: Future[Interaction]) -> None:
        # runs in the writer thread the moment the future is set: another connection must
        # already see the row, which it can only once the transaction is committed
        written = fut.result()
        seen.append((written.id, written.id in rows(db)))

    futures = [submit(writer, make(f"/{n}")) for n in range(20)]
    for fut in futures:
        fut.add_done_callback(on_done)
    for fut in futures:
        fut.result(DEADLINE)
    writer.close()
    assert len(seen) == 20
    assert all(visible for _, visible in seen), seen


def test_futures_carry_the_id_and_seq_the_store_gave(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    first = submit(writer, make("/a", session="one")).result(DEADLINE)
    second = submit(writer, make("/b", session="one")).result(DEADLINE)
    other = submit(writer, make("/c", session="two")).result(DEADLINE)
    writer.close()
    assert (first.seq, second.seq, other.seq) == (1, 2, 1)
    store = Store.open(db)
    try:
        for w in (first, second, other):
            assert w.id is not None
            assert store.get(w.id) == w
    finally:
        store.close()


def test_write_awaits_the_commit_without_blocking_the_loop(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)

    async def main() -> tuple[Interaction, int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                ticks += 1
                await asyncio.sleep(0)

        task = spawn(ticker(), name="ticker")
        written = await writer.write(make("/async"), "k")
        task.cancel()
        return written, ticks

    written, ticks = asyncio.run(main())
    writer.close()
    assert written.id in rows(db)
    assert ticks > 0, "the loop ran other tasks while the write was in flight"


def test_close_commits_everything_already_queued(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    futures = [submit(writer, make(f"/{n}", body=b"x" * 500)) for n in range(300)]
    writer.close()
    assert all(f.done() for f in futures)
    assert len(rows(db)) == 300
    assert sorted(f.result().id or 0 for f in futures) == sorted(rows(db))


def test_submit_after_close_fails_with_a_store_error(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "rec.db")
    writer.close()
    with pytest.raises(StoreError, match="has stopped"):
        submit(writer, make("/late")).result(DEADLINE)


@pytest.mark.parametrize("kind", ["text file", "directory"])
def test_a_bad_path_raises_the_store_error_from_the_constructor(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bad.db"
    if kind == "directory":
        path.mkdir()
    else:
        path.write_text("not sqlite\n")
    with pytest.raises(NotADatabase) as caught:
        Writer(path)
    assert str(path) in str(caught.value)


def test_a_row_the_store_cannot_take_fails_its_future_and_the_writer_goes_on(
    tmp_path: Path,
) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    # mitmproxy decodes a non-UTF-8 request path with surrogateescape; SQLite TEXT cannot hold it
    bad = submit(writer, make("/caf\udce9"))
    with pytest.raises(StoreError):
        bad.result(DEADLINE)
    good = submit(writer, make("/fine")).result(DEADLINE)
    writer.close()
    assert rows(db) == {good.id: "/fine"}


def test_a_full_disk_fails_futures_loses_nothing_committed_and_recovers(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk", "1m") as disk:
        db = disk / "rec.db"
        writer = Writer(db)
        try:
            kept = [submit(writer, make(f"/kept/{n}", body=bytes([n]) * 2000)) for n in range(5)]
            committed = [f.result(DEADLINE) for f in kept]
            filler = fill(disk)

            failed = [submit(writer, make(f"/lost/{n}", body=b"y" * 20000)) for n in range(5)]
            errors = []
            for f in failed:
                with pytest.raises(StoreError) as caught:
                    f.result(DEADLINE)
                errors.append(caught.value)
            assert all("full" in str(e) for e in errors), errors
            assert errors[0].hint == "free some disk space"

            filler.unlink()
            after = submit(writer, make("/after")).result(DEADLINE)
        finally:
            writer.close()

        store = Store.open(db)
        try:
            assert store.count() == len(committed) + 1
            for w in [*committed, after]:
                assert store.get(w.id or 0) == w
        finally:
            store.close()


def test_a_bad_row_fails_alone_in_a_group_of_good_ones(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # the writer waits on this lock while the queue fills
    try:
        futures = [submit(writer, make(p)) for p in ("/first", "/good1", "/caf\udce9", "/good2")]
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    first, good1, bad, good2 = futures
    committed = [f.result(DEADLINE) for f in (first, good1, good2)]
    with pytest.raises(StoreError):
        bad.result(DEADLINE)
    writer.close()
    assert rows(db) == {w.id: w.request.path for w in committed}


def test_a_caller_that_gives_up_does_not_stop_the_writer(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")  # hold the commit back while the caller gives up
    try:
        abandoned = submit(writer, make("/abandoned"))
        abandoned.cancel()  # what asyncio.wrap_future does when the awaiting task is cancelled
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    after = submit(writer, make("/after")).result(DEADLINE)
    writer.close()
    # the exchange happened, so its row is kept even though nobody waited for it
    assert sorted(rows(db).values()) == ["/abandoned", "/after"]
    assert after.id in rows(db)


def test_submit_after_close_fails_at_once_instead_of_waiting_forever(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "closed.db")
    writer.close()
    fut = submit(writer, make("/late"))
    with pytest.raises(StoreError, match="stopped"):
        fut.result(timeout=5)
    writer.close()  # closing twice is harmless


def write_all(writer: Writer, interactions: list[Interaction]) -> list[Interaction | BaseException]:
    """Each interaction written from its own task, all started in one turn of a fresh loop."""

    async def main() -> list[Interaction | BaseException]:
        tasks = [writer.write(i, exact_key(i.request)) for i in interactions]
        return await asyncio.gather(*tasks, return_exceptions=True)

    return asyncio.run(main())


def test_writes_of_one_turn_are_committed_together_each_with_its_own_row(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    written = write_all(writer, [make(f"/{n}") for n in range(300)])  # more than one group
    writer.close()
    assert all(isinstance(w, Interaction) for w in written)
    got = [w for w in written if isinstance(w, Interaction)]
    assert [w.request.path for w in got] == [f"/{n}" for n in range(300)]
    assert [w.seq for w in got] == list(range(1, 301))
    assert rows(db) == {w.id: w.request.path for w in got}


def test_a_bad_row_fails_alone_among_the_writes_of_its_turn(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    first, bad, last = write_all(writer, [make("/first"), make("/caf\udce9"), make("/last")])
    writer.close()
    assert isinstance(bad, StoreError)
    assert isinstance(first, Interaction) and isinstance(last, Interaction)
    assert rows(db) == {first.id: "/first", last.id: "/last"}


def test_close_on_the_loop_commits_what_the_loop_wrote_in_that_turn(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)

    async def main() -> list[Interaction]:
        tasks = [spawn(writer.write(make(f"/{n}"), "k"), name=f"write {n}") for n in range(3)]
        await asyncio.sleep(0)  # each task is now waiting on its row, not yet handed over
        writer.close()
        return await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)

    written = asyncio.run(main())
    assert sorted(rows(db).values()) == ["/0", "/1", "/2"]
    assert [w.id for w in written] == sorted(rows(db))


def test_write_after_close_fails_at_once_instead_of_waiting_forever(tmp_path: Path) -> None:
    writer = Writer(tmp_path / "closed.db")
    writer.close()
    (late,) = write_all(writer, [make("/late")])
    assert isinstance(late, StoreError) and "stopped" in str(late)


def test_a_write_whose_caller_gave_up_is_committed_and_the_writer_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    writer = Writer(db)
    blocker = sqlite3.connect(db, isolation_level=None, check_same_thread=False)
    blocker.execute("BEGIN IMMEDIATE")  # hold the commit back while the caller gives up

    async def main() -> Interaction:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(writer.write(make("/abandoned"), "k"), 0.2)
        blocker.execute("ROLLBACK")
        return await asyncio.wait_for(writer.write(make("/after"), "k"), DEADLINE)

    try:
        after = asyncio.run(main())
    finally:
        blocker.close()
    writer.close()
    assert sorted(rows(db).values()) == ["/abandoned", "/after"]
    assert after.id in rows(db)
