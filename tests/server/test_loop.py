"""The loop both servers run on, and the garbage-collection policies of virt serve and record."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref

from virt.server.loop import full_collections, gc_policy, run_loop, set_aside_startup


def test_run_loop_runs_a_coroutine_to_the_end_on_uvloop() -> None:
    seen: list[str] = []

    async def main() -> None:
        seen.append(type(asyncio.get_running_loop()).__module__)

    run_loop(main())
    assert seen and seen[0].startswith("uvloop")


def test_what_lives_at_start_is_set_aside_and_each_older_collection_sets_aside_its_survivors() -> (
    None
):
    before = gc.get_freeze_count()
    with gc_policy():
        frozen = gc.get_freeze_count()
        assert frozen > before  # start-up objects are no longer walked
        survivors = [[i] for i in range(1000)]  # tracked objects made after start
        gc.collect()  # a full collection: its survivors are set aside too
        assert gc.get_freeze_count() >= frozen + len(survivors)
    assert gc.get_freeze_count() == 0  # everything is walked again after serving


class _Node:
    """An object that can hold a reference cycle."""

    other: object = None


def test_a_cycle_set_aside_and_then_dropped_is_freed_by_the_full_collections() -> None:
    with gc_policy():
        node = _Node()
        node.other = node  # a cycle: reference counting alone never frees it
        alive = weakref.ref(node)
        gc.collect(1)  # it survives a collection of an older generation: set aside
        del node
        gc.collect()
        assert alive() is not None  # set aside: no collection looks at it

        async def a_while() -> None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(full_collections(every=0.01), 0.2)

        asyncio.run(a_while())
        assert alive() is None


def test_the_recorder_sets_aside_what_start_up_made_and_nothing_made_later() -> None:
    """virt record: a flow made after start-up stays where collections find its cycles."""
    started = [[n] for n in range(100)]
    set_aside_startup()
    try:
        later = [[n] for n in range(100)]
        walked = {id(o) for o in gc.get_objects()}
        assert id(started) not in walked and id(started[0]) not in walked
        assert id(later) in walked and id(later[0]) in walked
    finally:
        gc.unfreeze()
