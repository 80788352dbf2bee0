"""CPU that other work on the machine took during a load: on a shared machine, a burst of it
during one side of a row and not the other makes the ratio a coin toss, so the report says so."""

from __future__ import annotations

import os
import resource
import time
from dataclasses import dataclass

_TICK = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True, slots=True)
class Snapshot:
    at: float
    machine: float
    """Seconds of CPU the whole machine spent busy (steal included: the host took it)."""
    ours: float
    """Seconds of CPU of the server's processes and of the load generators that ended."""


def snapshot(pids: list[int]) -> Snapshot:
    return Snapshot(time.perf_counter(), _machine(), _tree(pids) + _children())


def others(before: Snapshot, pids: list[int]) -> float:
    """Cores that processes other than the server (`pids`) and the load generator kept busy
    since `before`; call it after the generator has been waited for."""
    after = snapshot(pids)
    seconds = after.at - before.at
    if seconds <= 0:
        return 0.0
    return max(0.0, (after.machine - before.machine) - (after.ours - before.ours)) / seconds


def _machine() -> float:
    try:
        with open("/proc/stat") as f:
            fields = [int(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return 0.0
    # user nice system idle iowait irq softirq steal (guest time is inside user already)
    user, nice, system, _idle, _iowait, irq, softirq, steal = (fields + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / _TICK


def _tree(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                after = f.read().rsplit(")", 1)[1].split()
            # fields 14 and 15 of stat (utime, stime), counted from the state after the name
            total += int(after[11]) + int(after[12])
        except (OSError, IndexError, ValueError):
            continue
    return total / _TICK


def _children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime
