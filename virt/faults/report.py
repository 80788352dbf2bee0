"""The faults report: every fault injected, and what the client did next.

Each request on a route a plan covers is one attempt, kept with its session, its idempotency
key and the fault it got (if any). A fault's next attempt in the same session and route tells
whether the client retried, with the same key or not; no next attempt means it gave up (so
far). Kept per process, bounded: the oldest attempts go first.
"""

from __future__ import annotations

import collections
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from virt.errors import ConfigError, StateUnavailable
from virt.faults.plan import Chosen, Plan, parse_plan
from virt.state import SessionState

log = logging.getLogger("virt")

KEPT = 10_000
"""Attempts the report remembers."""
SHARED = ("\0virt", "fault plan")
"""The session-state record (session, name) where a plan set over the admin API is kept, for
the other workers and replicas to take up."""
SHOWN = 512
"""Characters of a URL, a session or a key an attempt keeps: the report stays within a few MiB."""


@dataclass(frozen=True, slots=True)
class _Attempt:
    at: float
    session: str
    route: str
    attempt: int
    method: str
    url: str
    key: str | None
    fault: dict[str, Any] | None
    status: int


class FaultLog:
    """The fault plan in force and the attempts on the routes it covers: shared by the doors
    (which choose and note) and the admin API (which replaces the plan and reads the report)."""

    def __init__(
        self,
        plan: Plan | None = None,
        source: str | None = "config",
        state: SessionState | None = None,
    ) -> None:
        self.plan: Plan | None = plan if plan is not None and plan.rules else None
        self.source = source if self.plan is not None else None
        self.state = state
        """Shared with the other processes serving the same recordings, when there are any."""
        self._stamp = ""
        self._attempts: collections.deque[_Attempt] = collections.deque(maxlen=KEPT)
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}

    def replace(self, plan: Plan | None, source: str | None) -> None:
        """Put `plan` in force (None or an empty plan: no faults); the report starts again."""
        self.plan = plan if plan is not None and plan.rules else None
        self.source = source if self.plan is not None else None
        self.clear()

    def publish(self) -> None:
        """Keep the plan in force in the shared state, and say so: the other workers and
        replicas take it up within a second (Engine.followers calls `follow`)."""
        if self.state is None:
            return
        self._stamp = uuid.uuid4().hex
        plan = self.plan
        rules = [r.text for r in plan.rules] if plan is not None else []
        kept = {"stamp": self._stamp, "seed": plan.seed if plan else 0, "faults": rules}
        self.state.put(*SHARED, orjson.dumps(kept))
        self.state.bump()

    def follow(self) -> None:
        """Take up a plan another process published, if it is not the one in force."""
        if self.state is None:
            return
        try:
            found = self.state.get(*SHARED)
            if found is None:
                return
            kept = orjson.loads(found)
            if kept.get("stamp") == self._stamp:
                return
            plan = parse_plan(kept["faults"], kept["seed"], "the shared fault plan")
        except (StateUnavailable, ConfigError, ValueError, KeyError, TypeError) as e:
            log.error("the fault plan another process set cannot be taken up: %s", e)
            return
        self._stamp = kept["stamp"]
        self.replace(plan, "admin API")
        log.info("fault plan from another process: %d rules", len(plan.rules))

    def clear(self) -> None:
        with self._lock:
            self._attempts.clear()
            self._counts.clear()

    def note(
        self,
        chosen: Chosen | None,
        route: str,
        attempt: int,
        session: str,
        method: str,
        url: str,
        key: str | None,
        status: int,
    ) -> None:
        """One attempt on a covered route, faulted (`chosen`) or not."""
        fault = chosen.as_dict() if chosen is not None else None
        entry = _Attempt(
            time.time(),
            session[:SHOWN],
            route,
            attempt,
            method,
            url[:SHOWN],
            None if key is None else key[:SHOWN],
            fault,
            status,
        )
        with self._lock:
            self._attempts.append(entry)
            if chosen is not None:
                name = chosen.action.text
                self._counts[name] = self._counts.get(name, 0) + 1

    def report(self, session: str | None = None) -> dict[str, Any]:
        """Every fault injected (of `session`, if given), oldest first, with what came next."""
        with self._lock:
            attempts = list(self._attempts)
            counts = dict(self._counts)
        following: dict[tuple[str, str], list[_Attempt]] = {}
        for a in attempts:
            following.setdefault((a.session, a.route), []).append(a)
        faults = []
        for a in attempts:
            if a.fault is None or (session is not None and a.session != session):
                continue
            later = [b for b in following[(a.session, a.route)] if b.attempt > a.attempt]
            faults.append(
                {
                    "session": a.session,
                    "route": a.route,
                    "method": a.method,
                    "url": a.url,
                    "attempt": a.attempt,
                    "key": a.key,
                    "fault": a.fault,
                    "at": round(a.at, 3),
                    "next": _next(a, later[0] if later else None),
                }
            )
        return {
            "plan": self.plan.as_dict() if self.plan else None,
            "injected": counts,
            "faults": faults,
        }


def _next(fault: _Attempt, then: _Attempt | None) -> dict[str, Any]:
    """What the client did after `fault`: retried (how), or gave up."""
    if then is None:
        return {"did": "gave up"}
    if fault.key is None and then.key is None:
        key = "none"
    elif fault.key == then.key:
        key = "same"
    else:
        key = "different"
    return {
        "did": "retried",
        "attempt": then.attempt,
        "after_s": round(then.at - fault.at, 3),
        "key": key,
        "new_key": then.key if key == "different" else None,
        "status": then.status,
        "faulted": then.fault is not None,
    }
