"""spawn names its tasks and keeps each referenced until it is done."""

from __future__ import annotations

import asyncio
import gc
import weakref

import pytest

from virt.mitm.tasks import running, spawn


def test_a_spawned_task_carries_its_name_and_result() -> None:
    async def main() -> tuple[str, int]:
        task = spawn(asyncio.sleep(0, result=42), name="answer")
        return task.get_name(), await task

    assert asyncio.run(main()) == ("answer", 42)


def test_a_spawned_task_outlives_its_callers_last_reference() -> None:
    """A task waiting on a future only it holds is garbage to the loop: spawn keeps it."""
    finished: list[str] = []

    async def orphan(futures: list[weakref.ref[asyncio.Future[str]]]) -> None:
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        futures.append(weakref.ref(future))
        finished.append(await future)

    async def main() -> None:
        futures: list[weakref.ref[asyncio.Future[str]]] = []
        task = weakref.ref(spawn(orphan(futures), name="orphan"))
        await asyncio.sleep(0)  # the task starts and waits on its future
        gc.collect()
        assert task() is not None, "the pending task was collected"
        future = futures[0]()
        assert future is not None
        future.set_result("done")
        await asyncio.sleep(0)
        await asyncio.sleep(0)

    asyncio.run(main())
    assert finished == ["done"]


def test_a_task_is_let_go_once_done_whether_it_returned_failed_or_was_cancelled() -> None:
    async def fail() -> None:
        raise ValueError("boom")

    async def main() -> None:
        returned = spawn(asyncio.sleep(0), name="returns")
        failed = spawn(fail(), name="fails")
        cancelled = spawn(asyncio.sleep(60), name="cancelled")
        assert {returned, failed, cancelled} <= running()
        cancelled.cancel()
        await asyncio.wait([returned, failed, cancelled])
        await asyncio.sleep(0)  # done callbacks run on the next turn of the loop
        assert not {returned, failed, cancelled} & running()
        with pytest.raises(ValueError, match="boom"):
            failed.result()

    asyncio.run(main())


def test_spawn_needs_a_running_loop() -> None:
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="no running event loop"):
        spawn(coro, name="nowhere")
    coro.close()
