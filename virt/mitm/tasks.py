"""Starting asyncio tasks: named, and kept referenced until they are done."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")

_RUNNING: set[asyncio.Task[Any]] = set()
"""Every task spawn started that is not done yet. The event loop holds tasks only weakly, so a
task whose caller drops it could be collected mid-run (the asyncio.create_task docs say so)."""


def spawn(coro: Coroutine[Any, Any, T], *, name: str) -> asyncio.Task[T]:
    """Start `coro` on the running loop as a task called `name`, as mitmproxy's
    asyncio_utils.create_task names its own: the name shows in asyncio's debug output and in
    "Task exception was never retrieved". The task is kept referenced until it is done."""
    task = asyncio.create_task(coro, name=name)  # noqa: TID251 (the one place allowed to)
    _RUNNING.add(task)
    task.add_done_callback(_RUNNING.discard)
    return task


def running() -> frozenset[asyncio.Task[Any]]:
    """The tasks spawn started that are not done yet."""
    return frozenset(_RUNNING)
