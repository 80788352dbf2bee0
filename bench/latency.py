"""Match latency in-process: Engine.match over a Store, as `virt serve` calls it per request."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, replace
from pathlib import Path

from bench.generate import request
from virt.match.engine import Engine, MatchKind
from virt.model import Request
from virt.store import Store


@dataclass(frozen=True, slots=True)
class Latency:
    p50_ms: float
    p99_ms: float
    hits: int
    """Calls that found a recording of the kind asked for."""
    samples: int


def drifted(n: int, k: int) -> Request:
    """Recording `n` (made odd: /users/{n}/orders?page=1&sort=desc) sent again with a query
    parameter it never had: neither key finds it, so it is scored within its route group."""
    r = request(n | 1)
    return replace(r, query=f"{r.query}&request_id=r{k:08d}")


def measure(
    db: Path, size: int, samples: int, kind: MatchKind, budget_s: float = 30, seed: int = 1
) -> Latency:
    """Times `samples` calls of Engine.match for recordings drawn at random from all `size`
    (EXACT: each recorded request as recorded; FUZZY: each drifted), after a warm-up of up to
    200 calls; fewer calls when they would take longer than `budget_s`."""
    store = Store.open(db, readonly=True)
    try:
        engine = Engine(store)
        rng = random.Random(seed)
        make = (lambda n, k: request(n)) if kind is MatchKind.EXACT else drifted
        deadline = time.perf_counter() + budget_s / 10
        for k in range(min(200, samples)):
            engine.match(make(rng.randrange(size), k))
            if time.perf_counter() > deadline:
                break
        times: list[int] = []
        hits = 0
        deadline = time.perf_counter() + budget_s
        for k in range(samples):
            if time.perf_counter() > deadline:
                break
            req = make(rng.randrange(size), k)
            start = time.perf_counter_ns()
            match = engine.match(req)
            times.append(time.perf_counter_ns() - start)
            hits += match.kind is kind
    finally:
        store.close()
    times.sort()
    return Latency(
        times[len(times) // 2] / 1e6,
        times[min(len(times) - 1, len(times) * 99 // 100)] / 1e6,
        hits,
        len(times),
    )
