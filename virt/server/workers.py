"""run_workers: one server on every core, as N forked processes that stop together.

The parent forks before it has threads or an event loop (a fork copies only the calling thread,
so a lock another thread held would stay locked in the child forever), forwards SIGINT and
SIGTERM to its children, and waits. A worker that stops without being asked takes the others
down with it: a server with one worker gone would refuse a share of the connections at random.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import Any

from virt.errors import ConfigError

log = logging.getLogger("virt")

GRACE = 10.0
"""Seconds the workers get to stop after a signal (or after one of them died) before SIGKILL."""

POLL = 0.05
"""Seconds between two looks at the children: the parent does nothing else meanwhile."""

_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def run_workers(count: int, work: Callable[[int], None], grace: float = GRACE) -> int:
    """Fork `count` children, each running `work(index)` (index 0 to count-1) and exiting with
    its status; forward SIGINT and SIGTERM to them; wait for all. Returns 0 when they all stop
    cleanly after a signal, else non-zero, with a log line naming the worker that did not."""
    if count < 1:
        raise ConfigError(f"{count} workers: give 1 or more")
    others = [t.name for t in threading.enumerate() if t is not threading.current_thread()]
    if others:
        raise RuntimeError(
            f"run_workers must fork before any thread starts; running: {', '.join(others)}"
        )
    sys.stdout.flush()
    sys.stderr.flush()
    pool = _Pool(grace)
    previous = {s: signal.signal(s, pool.on_signal) for s in _STOP_SIGNALS}
    try:
        for index in range(count):
            pid = os.fork()
            if pid == 0:
                _child(index, work)  # never returns
            pool.children[pid] = index
        return pool.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)


class _Pool:
    """The parent's view of its children: which are alive, whether a stop was asked."""

    def __init__(self, grace: float) -> None:
        self.grace = grace
        self.children: dict[int, int] = {}
        """pid -> worker index, of the children still running."""
        self.stopping: int | None = None
        """The signal that asked the workers to stop, once one did."""
        self.deadline = 0.0
        self.failed = 0

    def on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.stopping is None:
            self.stopping = signum
            self.deadline = time.monotonic() + self.grace
            self.send(signum)
        else:  # asked twice: stop now
            self.send(signal.SIGKILL)

    def send(self, signum: int) -> None:
        for pid in list(self.children):
            with contextlib.suppress(ProcessLookupError):  # exited; waitpid reaps it next
                os.kill(pid, signum)

    def wait(self) -> int:
        """Reap the children until none is left; the return code of run_workers."""
        killed = False
        while self.children:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                if self.stopping is not None and not killed and time.monotonic() > self.deadline:
                    for index in sorted(self.children.values()):
                        log.error(
                            "worker %d did not stop within %gs: killing it", index, self.grace
                        )
                    self.failed = self.failed or 1
                    self.send(signal.SIGKILL)
                    killed = True
                time.sleep(POLL)
                continue
            if pid in self.children:
                self.reaped(self.children.pop(pid), pid, status)
        return self.failed

    def reaped(self, index: int, pid: int, status: int) -> None:
        """Note how worker `index` ended; the first to end unasked stops the others."""
        code = os.waitstatus_to_exitcode(status)
        how = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with {code}"
        if self.stopping is not None:
            if code not in (0, -self.stopping, 128 + self.stopping, -signal.SIGKILL):
                log.error("worker %d (pid %d) %s while stopping", index, pid, how)
                self.failed = self.failed or (code if code > 0 else 1)
            return
        log.error("worker %d (pid %d) %s; stopping the others", index, pid, how)
        self.failed = code if code > 0 else 1
        self.stopping = signal.SIGTERM
        self.deadline = time.monotonic() + self.grace
        self.send(signal.SIGTERM)


def _child(index: int, work: Callable[[int], None]) -> None:
    """Run `work(index)` in a forked child and leave with its status, never returning into
    the parent's code (its finally blocks and atexit handlers are the parent's)."""
    code = 0
    try:
        # the signals a fresh Python would have: the parent's handlers are for the parent
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        work(index)
    except SystemExit as e:
        code = _exit_code(e.code)
    except KeyboardInterrupt:
        code = 128 + signal.SIGINT
    except BaseException:
        log.exception("worker %d failed", index)
        code = 1
    finally:
        try:
            logging.shutdown()
            sys.stdout.flush()
            sys.stderr.flush()
        finally:
            os._exit(code)


def _exit_code(code: Any) -> int:
    """The status sys.exit(code) would leave with."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code & 0xFF
    print(code, file=sys.stderr)
    return 1
