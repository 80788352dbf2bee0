"""Engine: picks the recording for a request and walks recorded sequences of repeated requests.

Three stages, each bounded by an index: the same bytes (exact), the same meaning (canonical
key: JSON key order, form order, signed query parameters, multipart boundaries), then scoring
within the request's candidate group (same method, origin and route template), where volatile,
learned and ignored fields take no part and the best candidate above the threshold wins.
"""

from __future__ import annotations

__all__ = ["Engine", "Match", "MatchKind"]

import dataclasses
import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

from virt.errors import StateError, StateUnavailable
from virt.match import echo, nearmiss, patterns
from virt.match.cache import WARM_CHUNK, Cache
from virt.match.cursor import named, recorded_operation, unsigned
from virt.match.journal import Journal
from virt.match.prepared import Prepared
from virt.match.result import Found, Match, MatchKind
from virt.match.rules import Policy, Rules
from virt.match.score import (
    Comparison,
    Side,
    compare,
    ignored_names,
    path_bound,
    signature,
)
from virt.match.stage import FallbackStage, Refused, fallback_match, with_body
from virt.model import Interaction, Request
from virt.normalize import exact_key, keys
from virt.normalize.canonical import canonical_key
from virt.normalize.fields import Operation, fields, header_fields, operation
from virt.normalize.route import route_key
from virt.state import MemoryState, SessionState
from virt.store import Origin, Store

log = logging.getLogger("virt.match")

MAX_CANDIDATES = 256
"""Recordings scored per request at most: the request's own path first, then its route group."""

ALWAYS_SCORED = 3
"""Candidates scored in full however their path compares: a miss explains itself with the
comparison of the best of them."""
NEAREST_POOL = 12
"""Recordings weighed for a miss report: its scored candidates and index neighbours."""
FOLLOW_EVERY = 0.5
"""Seconds between two looks at whether another worker or replica changed the recordings."""


class Engine:
    """Matches requests against one Store.

    Repeated requests get the recorded responses in recorded order, then keep getting the last
    one (a polled job: pending, pending, done, done, ...). No stage scans the recordings.
    """

    def __init__(
        self,
        store: Store,
        rules: Rules | None = None,
        state: SessionState | None = None,
        fallback: Callable[[Store, SessionState], FallbackStage] | None = None,
    ) -> None:
        self.store = store
        self.rules = rules or Rules()
        self.state: SessionState = state if state is not None else MemoryState()
        """Where each session stands in each sequence: this process's memory, or shared by
        workers (a state file) and replicas (Redis)."""
        self._cache = Cache(store)
        self.journal = Journal(shared=self.state.served())
        self._alone = isinstance(self.state, MemoryState)
        """No other process changes what this one serves: nothing to follow."""
        self._generation = 0 if self._alone else self.state.generation()
        self._next_look = 0.0
        self.followers: list[Callable[[], None]] = []
        """Called when another process said something changed (the fault plan follows)."""
        self.fallback: FallbackStage | None = fallback(store, self.state) if fallback else None
        """The fourth stage (virt.schema), made with this engine's store and state; None
        answers every unrecorded request with a miss (--no-fallback)."""

    def match(
        self,
        request: Request,
        session: str = "",
        prepared: Prepared | None = None,
        fall_back: bool = True,
    ) -> Match:
        """The recording for `request`, by the first stage that finds one.

        Sequences advance per `session` (a client's X-Virt-Session, else its address), so
        parallel test workers polling the same job each see it from the start. `prepared` is
        `prepare(request)` when the caller worked it out already (off the loop, for a large
        body); else the engine computes what each stage needs as it gets there. Without
        `fall_back`, a miss stays a miss (the caller tries something else first, then
        `fall_back` itself).
        """
        stage = self.fallback
        if stage is None:
            return self._match(request, session, prepared)
        if not stage.active:
            found = self._match(request, session, prepared)
            if found.kind is MatchKind.MISS and fall_back:
                return self.fall_back(request, session, found)
            return found
        # a session that created objects through the fallback stage sees them first
        held = stage.held(request, session)
        if held is not None:
            key = prepared.key if prepared else exact_key(request)
            return fallback_match(key, request, held)
        found = self._match(request, session, prepared)
        if found.kind is MatchKind.MISS and fall_back:
            return self.fall_back(request, session, found)
        if found.interaction is not None and found.kind is not MatchKind.MISS:
            resp = found.interaction.response
            body = stage.with_created(request, session, resp.status, resp.body, resp.headers)
            if body is not None:
                found = with_body(found, body)
        return found

    def _match(self, request: Request, session: str, prepared: Prepared | None) -> Match:
        self._follow()
        policy = self.rules.policy(request)
        key = prepared.key if prepared else exact_key(request)
        # the full fields (JSON bodies parsed) only when a rule or scoring needs them
        strict = policy.strict
        if prepared is not None:
            sent: Side | None = prepared.side if strict else None
        else:
            sent = Side.of(request) if strict else None
        asked = prepared.asked if prepared else operation(request)
        ids = self._admitted(self._cache.exact_ids(key), asked, sent, policy)
        if ids:
            # the same path, query values and body: only headers can differ, and be echoed
            cursor = f"{session}\0{key}{named(asked)}"
            found = Found(MatchKind.EXACT, cursor, ids, header_fields)
            return self._walk(found, key, request, policy)
        canonical = prepared.canonical if prepared else canonical_key(request)
        ids = self._admitted(
            self._cache.ids("~" + canonical, lambda _: self.store.canonical_ids(canonical)),
            asked,
            sent,
            policy,
        )
        if ids:
            cursor = f"{session}\0~{canonical}{named(asked)}"
            return self._walk(Found(MatchKind.FUZZY, cursor, ids, unsigned), key, request, policy)
        patterned = self._patterned(request, session, asked, sent, policy)
        if patterned is not None:
            return self._walk(patterned, key, request, policy)
        if prepared is not None:
            return self._scored(request, key, session, prepared.side, policy, prepared.route)
        if sent is None:
            sent = Side.of(request)
        return self._scored(request, key, session, sent, policy, route_key(request))

    def _patterned(
        self, request: Request, session: str, asked: Operation, sent: Side | None, policy: Policy
    ) -> Found | None:
        """The pattern stage: the first recording, in recorded order, made from a stub whose
        host or URL pattern (glob, regex, template) covers `request`; the recordings of the
        same stub pattern after it are its sequence. None when no pattern covers it."""
        ids: list[int] = []
        chosen = None
        for id, pattern, recorded in self._cache.stubs(request.method):
            if chosen is None and patterns.matches(pattern, recorded, request):
                chosen = (pattern, recorded)
                ids.append(id)
            elif chosen is not None and (pattern, recorded) == chosen:
                ids.append(id)  # the same stub recorded again: its next response
        ids = self._admitted(ids, asked, sent, policy)  # a rule's conditions hold here too
        if not ids:
            return None
        return Found(MatchKind.PATTERN, f"{session}\0%{ids[0]}{named(asked)}", ids, header_fields)

    def _admitted(
        self, ids: list[int], asked: Operation, sent: Side | None, policy: Policy
    ) -> list[int]:
        """`ids` minus those that name another operation (X-Amz-Target, SOAPAction) or that a
        strict rule (require, conditions, body mode) rules out."""
        if not ids:
            return ids
        side = self._cache.side
        if sent is not None:
            return [i for i in ids if (s := side(i)) and compare(sent, s, policy).failed is None]
        if not asked:
            return ids
        return [i for i in ids if (s := side(i)) and recorded_operation(s) == asked]

    def _scored(
        self, request: Request, key: str, session: str, sent: Side, policy: Policy, route: str
    ) -> Match:
        group = self._cache.group(route, MAX_CANDIDATES, request)
        if not group:
            return Match(MatchKind.MISS, key, rule=policy.rule)
        volatile = self._cache.volatile(route)
        scored: list[tuple[float, int, Comparison]] = []
        sides: dict[int, Side] = {}
        bound = path_bound(sent, policy) if sent.path_names() else None
        passed: list[int] = []
        """Candidates whose path alone shows they cannot reach the threshold: not scored
        further (a request for an id nobody recorded would score every recording of the
        route), still offered to the fallback stage as templates."""
        for id, recorded in group:
            side = sides[id] = self._cache.side(id, recorded) or Side({})
            if (
                bound is not None
                and len(scored) >= ALWAYS_SCORED
                and bound(side) < policy.threshold
            ):
                passed.append(id)
                continue
            floor = policy.threshold if len(scored) >= ALWAYS_SCORED else None
            comparison = compare(sent, side, policy, volatile, floor)
            scored.append((comparison.score if comparison.failed is None else -1.0, id, comparison))
        if not scored:
            return Match(MatchKind.MISS, key, rule=policy.rule)
        score, best_id, best = min(scored, key=lambda s: (-s[0], s[1]))
        if best.failed is None and score >= policy.threshold:
            best = self._unsent(sent, best_id, sides[best_id], best)
        if best.failed is not None or score < policy.threshold:
            if best.partial:  # the miss explains itself with the whole comparison
                best = compare(sent, sides[best_id], policy, volatile)
                score = best.score
            ranked = tuple(id for _, id, _ in sorted(scored, key=lambda s: (-s[0], s[1])))
            ranked += tuple(passed)
            return Match(
                MatchKind.MISS,
                key,
                score=max(score, 0.0),
                comparison=best,
                rule=policy.rule,
                nearest=ranked,
            )
        best_side = sides[best_id]
        skip = ignored_names(sent, best_side, policy, volatile)
        mark = signature(best_side, skip)
        tied = sorted(
            id for s, id, _ in scored if s == score and signature(sides[id], skip) == mark
        )
        cursor = f"{session}\0@{route}\0{mark}"
        found = Found(MatchKind.FUZZY, cursor, tied, fields, score, best, sent.fields)
        return self._walk(found, key, request, policy)

    def _unsent(self, sent: Side, id: int, side: Side, best: Comparison) -> Comparison:
        """`best`, failed when recording `id` answers with the value of a field the sent
        request does not send: a wrong answer, however near the request (virt.match.echo)."""
        recorded = self._cache.get(id)
        name = recorded and echo.unsent(sent.fields, side.fields, recorded.response.body)
        if not name:
            return best
        return dataclasses.replace(best, failed=f"{name}: not sent, and the answer repeats it")

    def fall_back(self, request: Request, session: str, missed: Match) -> Match:
        """The fallback stage's answer for a request no recording answers; `missed` when
        there is no stage, no known route, or the stage refuses (the miss says why)."""
        stage = self.fallback
        if stage is None or missed.kind is not MatchKind.MISS:
            return missed
        try:
            made = stage.answer(request, session, missed.nearest)
        except StateError:
            raise  # said on the request, as for sequences
        except Exception as e:
            # a route the stage cannot handle is a miss that says so; the others keep working
            log.exception("fallback failed for %s %s", request.method, request.url)
            refused = {"route": "", "refused": f"the fallback failed: {type(e).__name__}"}
            return dataclasses.replace(missed, fallback=refused)
        if made is None:
            return missed
        if isinstance(made, Refused):
            refused = {"route": made.route, "refused": made.why}
            return dataclasses.replace(missed, fallback=refused)
        found = fallback_match(missed.key, request, made)
        # what the nearest recording differed in: why no recording answered
        return dataclasses.replace(found, score=missed.score, comparison=missed.comparison)

    def _walk(self, found: Found, key: str, request: Request, policy: Policy) -> Match:
        """The next response of a recorded sequence; after the last, the last again.

        The request's new values are echoed where the recorded response repeated the old ones,
        in the fields that `found.echoable` says can differ at its stage.
        """
        ids, echoable = found.ids, found.echoable
        # one recording is no sequence: no need to ask the state (a file or Redis with workers)
        position = min(self.state.advance(found.cursor), len(ids) - 1) if len(ids) > 1 else 0
        interaction = self._cache.get(ids[position])
        if interaction is None:  # deleted between the two reads
            return Match(MatchKind.MISS, key)
        sent_fields = echoable(request) if found.sent is None else found.sent
        if echoable is fields and (side := self._cache.side(ids[position], interaction.request)):
            recorded_fields = side.fields  # parsed once, kept
        else:
            recorded_fields = echoable(interaction.request)
        interaction, echoed = echo.echo(interaction, sent_fields, recorded_fields)
        return Match(
            found.kind,
            key,
            interaction,
            position,
            found.score,
            found.comparison,
            tuple(echoed),
            policy.rule,
        )

    def volatile_fields(self, request: Request) -> list[str]:
        """The field names learned as volatile in `request`'s route group."""
        return sorted(self._cache.volatile(route_key(request)))

    def backfill(self, batch: int = 1000) -> int:
        """Give canonical and route keys to interactions stored without them (schema 3 and
        older); returns how many. Needs a writable store."""
        done = 0
        while rows := self.store.without_keys(batch):
            self.store.set_keys([(id, keys(request)) for id, request in rows])
            done += len(rows)
        return done

    def reset(self) -> None:
        """Restart every recorded sequence from its first response, forget what sessions
        created, and read the recordings afresh (another process may have added some)."""
        self.state.clear()
        self.changed()

    def nearest(
        self,
        request: Request,
        limit: int = 3,
        prepared: Prepared | None = None,
        ranked: Sequence[int] = (),
    ) -> list[dict[str, Any]]:
        """The recordings closest to `request`, for the miss report: the candidates matching
        scored (`ranked`, best first) and those of the same host and path or method (index
        seeks, never a scan), as nearmiss.report ranks and describes them."""
        policy = self.rules.policy(request)
        sent = prepared.side if prepared else Side.of(request)
        pool = dict.fromkeys(ranked[:NEAREST_POOL])
        found = self.store.nearest(request.method, request.host, request.path, NEAREST_POOL)
        pool.update(dict.fromkeys(summary.id for summary in found))
        return nearmiss.report(request, sent, policy, pool, self._cache, limit)

    def origins(self) -> list[Origin]:
        """Recorded upstreams, cached until `changed` is called (here or in another worker)."""
        self._follow()
        return self._cache.origins()

    def set_rules(self, rules: Rules) -> None:
        """Replace the rules in force (admin API)."""
        self.rules = rules

    def changed(self) -> None:
        """Recordings were edited, added or removed (admin API, import): drop cached views,
        and have the other workers and replicas sharing the state drop theirs."""
        self._cache.clear()
        if self.fallback is not None:
            self.fallback.clear()
        if not self._alone:
            self._generation = self.state.bump()

    def _follow(self) -> None:
        """Drop cached views when another process said the recordings changed; asks the
        shared state at most every FOLLOW_EVERY seconds, and never for state in memory."""
        if self._alone or (now := time.monotonic()) < self._next_look:
            return
        self._next_look = now + FOLLOW_EVERY
        try:
            generation = self.state.generation()
        except StateUnavailable:
            return  # the request's own call to the state says so, if it needs it
        if generation != self._generation:
            self._generation = generation
            self._cache.clear()
            if self.fallback is not None:
                self.fallback.clear()
            for follow in self.followers:
                follow()

    def warm(self, chunk_size: int = WARM_CHUNK) -> bool:
        """One step of reading the recordings into memory ahead of the requests for them,
        `chunk_size` of them; False once done. Meant to be called between requests until it
        says False."""
        return self._cache.warm(chunk_size)

    def recorded(self, interaction: Interaction) -> None:
        """Note an interaction written while serving (passthrough), so it can answer from now on."""
        self._cache.recorded(interaction)
