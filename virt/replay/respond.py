"""respond: the reply to a request, the same for both doors: recording, passthrough, or miss."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from virt.encoding import BodyTooLarge
from virt.errors import StateUnavailable
from virt.faults import Action, Chosen, FaultLog, Kind, Rule
from virt.match.engine import Engine
from virt.match.prepared import Prepared, prepare
from virt.match.result import Match, MatchKind
from virt.model import Interaction, Request, header
from virt.normalize.route import template
from virt.normalize.uri import path_form
from virt.redact import UnredactableBody
from virt.replay.faulting import status_reply
from virt.replay.idempotency import IDEMPOTENCY_HEADERS, Idempotency
from virt.replay.miss import miss_reply, why_missed
from virt.replay.reply import Reply, from_match

log = logging.getLogger("virt.replay")

Forward = Callable[[Request], Awaitable[Interaction]]
"""Sends a request to its real upstream and records the exchange (passthrough)."""
Redact = Callable[[Request], Request]
"""Replaces a request's secrets by the placeholders its recording holds (virt.redact)."""
Tokens = Callable[[Interaction, float], tuple[Interaction, dict[str, Any]]]
"""Mints a recorded response's JWTs afresh and answers JWKS with virt's key (Minter.apply)."""
Shift = Callable[[Interaction, float], tuple[Interaction, list[str]]]
"""Moves a recorded response's timestamps by the time since recording (clock.shift)."""
Answered = tuple[Reply, str, int | None, str, dict[str, Any]]
"""A reply, its match kind (a MatchKind, or "fault"), its recording, why, and the explanation."""


SESSION_HEADER = "X-Virt-Session"
OFF_LOOP_BODY = 64 * 1024
"""Bodies larger than this are decoded and redacted on a worker thread, so that one large
request does not hold up every other client (and the health check) on the event loop; smaller
ones stay on the loop, where a thread hop would cost more than the work."""


@dataclass(frozen=True, slots=True)
class Replayer:
    """How both doors answer: the engine, and what is done to requests and replies on the way.

    `forward` is passthrough (None: a miss is a miss); `redact` turns a request's secrets into
    the placeholders its recording holds; `tokens` mints recorded JWTs afresh; `shift` moves
    recorded timestamps (--shift-time); `faults` holds the fault plan in force (virt.faults)
    and its report; `idempotency` answers a repeated idempotency key with its first answer;
    `latency` (--latency) scales each recording's recorded duration into a wait before its
    answer (None: answer at once).
    """

    engine: Engine
    forward: Forward | None = None
    redact: Redact | None = None
    tokens: Tokens | None = None
    shift: Shift | None = None
    faults: FaultLog | None = None
    idempotency: Idempotency | None = None
    latency: float | None = None

    async def respond(self, request: Request, door: str = "direct", client: str = "") -> Reply:
        """The reply for `request`: its recording, else passthrough when enabled, else the miss.

        Every answer goes into the engine's journal. Never raises: a request that fails inside
        virt (a damaged database, say) is logged and answered with the miss response saying
        why, and the server goes on serving.
        """
        sent = request  # passthrough forwards what the client sent, credentials included
        try:
            prepared: tuple[Prepared, Prepared] | None = None
            if len(request.body) > OFF_LOOP_BODY:
                # redacting, parsing and hashing a large body is the heavy part of matching it,
                # and all of it is pure (a key and rules, no store): on a worker thread
                request, prepared = await asyncio.to_thread(self._prepare, request)
            elif self.redact is not None:
                # recordings hold placeholders where secrets were: so must the request matched
                request = self.redact(request)
            session = header(request.headers, SESSION_HEADER) or client
            started = time.monotonic() if self.latency is not None else 0.0
            kind: str
            faults = self.faults
            plan = faults.plan if faults is not None else None  # read once: PUT may replace it
            covered: tuple[Chosen | None, Rule | None, int] = (None, None, 0)
            if plan is not None:
                covered = plan.choose(request, session, self.engine.state)
            if faults is not None and covered[1] is not None:
                reply, kind, interaction_id, why, explain = await self._faulted(
                    faults, covered, request, sent, session, prepared, started
                )
            elif self.idempotency is None or self.idempotency.key(request) is None:
                # the plain path: no fault plan, no idempotency key
                reply, kind, interaction_id, why, explain = await self._respond(
                    request, sent, session, prepared, started
                )
            else:
                reply, kind, interaction_id, why, explain = await self._answered(
                    request, sent, session, prepared, started
                )
        except StateUnavailable as e:
            # shared session state (Redis, a state file) is away: said on each request it
            # affects, in one line; the next request tries again
            log.error("cannot answer %s %s: %s", request.method, request.url, e)
            why = str(e)
            reply, kind, interaction_id = miss_reply(request, [], why=why), MatchKind.MISS, None
            explain = {}
        except Exception as e:
            log.exception("cannot answer %s %s", request.method, request.url)
            why = f"virt could not read its recordings: {e}"
            reply, kind, interaction_id = miss_reply(request, [], why=why), MatchKind.MISS, None
            explain = {}
        self.engine.journal.add(
            door=door,
            method=request.method,
            url=request.url,
            match=str(kind),
            status=reply.status,
            interaction_id=interaction_id,
            why=why,
            explain=explain,
        )
        return reply

    def _prepare(self, request: Request) -> tuple[Request, tuple[Prepared, Prepared]]:
        """The redacted request, and what matching needs of it and of the request as sent."""
        redacted = self.redact(request) if self.redact is not None else request
        mine = prepare(redacted)
        return redacted, (mine, mine if redacted == request else prepare(request))

    async def _faulted(
        self,
        faults: FaultLog,
        covered: tuple[Chosen | None, Rule | None, int],
        request: Request,
        sent: Request,
        session: str,
        prepared: tuple[Prepared, Prepared] | None,
        started: float,
    ) -> Answered:
        """The reply to a request on a route the fault plan in force covers: the fault it
        chose for this attempt (`covered`, from Plan.choose), if any, instead of (or, `after`,
        on top of) the answer; every such attempt goes into the report."""
        chosen, rule, attempt = covered
        answered: Answered
        if chosen is None or chosen.action.answers:
            answered = await self._answered(request, sent, session, prepared, started)
        else:
            why = f"fault plan: {chosen.rule.text!r}, attempt {chosen.attempt}"
            answered = (self._unanswered(chosen, request), "fault", None, why, {})
        reply, kind, interaction_id, why, explain = answered
        if chosen is not None:
            if chosen.action.kind is not Kind.STATUS:
                reply = dataclasses.replace(reply, fault=chosen.action)
            elif chosen.action.after:  # answered, and the client gets the status instead
                reply = status_reply(chosen, request, self.engine.store)
            explain = {**explain, "fault": chosen.as_dict()}
            log.info(
                "fault %r on %s %s (session %s, attempt %d)",
                chosen.action.text,
                request.method,
                request.url,
                session[:80],
                chosen.attempt,
            )
        if rule is not None:
            faults.note(
                chosen,
                rule.route,
                attempt,
                session,
                request.method,
                request.url,
                self._key(request),
                reply.status,
            )
        return reply, kind, interaction_id, why, explain

    def _unanswered(self, chosen: Chosen, request: Request) -> Reply:
        """The reply of a fault that sends no recorded answer: a status, or nothing."""
        if chosen.action.kind is Kind.STATUS:
            return status_reply(chosen, request, self.engine.store)
        return Reply(0, "", (), b"")

    def _key(self, request: Request) -> str | None:
        if self.idempotency is not None:
            return self.idempotency.key(request)
        return next((v for n in IDEMPOTENCY_HEADERS if (v := header(request.headers, n))), None)

    async def _answered(
        self,
        request: Request,
        sent: Request,
        session: str,
        prepared: tuple[Prepared, Prepared] | None,
        started: float,
    ) -> Answered:
        """The answer, or the first answer to the same idempotency key in this session."""
        idempotency = self.idempotency
        key = idempotency.key(request) if idempotency is not None else None
        if key is None or idempotency is None:
            return await self._respond(request, sent, session, prepared, started)
        repeated = idempotency.repeat(request, session, key)
        if repeated is not None:
            reply, kind, interaction_id, explain = repeated
            return reply, kind, interaction_id, "", explain
        answered = await self._respond(request, sent, session, prepared, started)
        made, how, recording = answered[:3]
        if how != MatchKind.MISS and 200 <= made.status < 500:
            # a 5xx is one a client may retry with its key, and get a new answer
            idempotency.keep(request, session, key, made, MatchKind(how), recording)
        return answered

    async def _respond(
        self,
        request: Request,
        sent: Request,
        session: str,
        prepared: tuple[Prepared, Prepared] | None = None,
        started: float = 0.0,
    ) -> Answered:
        engine = self.engine
        mine, theirs = prepared or (None, None)
        redacted = sent is not request
        match = engine.match(request, session, mine, fall_back=not redacted)
        if match.kind is MatchKind.MISS and redacted:
            # recordings made with --no-redact (or before redaction) hold the secrets themselves
            raw = engine.match(sent, session, theirs, fall_back=False)
            if raw.kind is not MatchKind.MISS:
                match = raw
            else:  # neither: made up last, from recordings that hold placeholders
                match = engine.fall_back(request, session, match)
        answers = (MatchKind.EXACT, MatchKind.FUZZY, MatchKind.PATTERN, MatchKind.FALLBACK)
        if match.interaction is not None and match.kind in answers:
            if log.isEnabledFor(logging.DEBUG):
                log.debug(
                    "%s %s %s -> #%s %d",
                    match.header_value,
                    request.method,
                    request.url,
                    match.interaction.id,
                    match.interaction.response.status,
                )
            answered = match.interaction.id
            match, explain = self._refreshed(match)
            reply = from_match(match, request.method)
            if self.latency is not None:
                reply = self._paced(reply, match.interaction, started, explain)
            return reply, match.kind, answered, "", explain
        if self.forward is not None:
            try:
                recorded = await self.forward(sent)
            except (BodyTooLarge, UnredactableBody) as e:  # neither recorded nor relayed
                log.error("passthrough refused: %s %s: %s", request.method, request.url, e)
                why = f"passthrough refused the upstream's answer: {e}"
                return _bad_gateway(why), MatchKind.MISS, None, why, match.explain()
            except Exception as e:
                log.error("passthrough failed: %s %s: %s", request.method, request.url, e)
                why = f"passthrough failed: {e}"
                reply = miss_reply(request, engine.nearest(request, prepared=mine), why=why)
                return reply, MatchKind.MISS, None, why, match.explain()
            engine.recorded(recorded)
            log.debug("passthrough %s %s -> recorded #%s", request.method, request.url, recorded.id)
            passed = Match(MatchKind.PASSTHROUGH, match.key, recorded)
            return from_match(passed, request.method), passed.kind, recorded.id, "", {}
        nearest = engine.nearest(request, prepared=mine, ranked=match.nearest)
        why = why_missed(request, match, engine.rules.policy(request).threshold, nearest)
        log.warning("miss %s %s: %s", request.method, request.url, why)
        route = (match.fallback or {}).get("route")
        reply = miss_reply(request, nearest, why=why, route=route)
        explain = match.explain()
        explain["route"] = route or f"{request.method.upper()} {template(path_form(request.path))}"
        explain["nearest"] = [n["id"] for n in nearest]
        return reply, MatchKind.MISS, None, why, explain

    def _paced(
        self,
        reply: Reply,
        interaction: Interaction | None,
        started: float,
        explain: dict[str, Any],
    ) -> Reply:
        """`reply` to be sent once the recorded duration (scaled) has passed since `started`."""
        timings = interaction.timings if interaction is not None else None
        recorded = timings.duration_ms if timings is not None else None
        if recorded is None or self.latency is None:
            return reply
        wait = recorded * self.latency / 1000 - (time.monotonic() - started)
        explain["latency_ms"] = round(recorded * self.latency, 3)
        if wait <= 0:
            return reply
        return dataclasses.replace(reply, fault=Action(Kind.DELAY, seconds=wait, text="latency"))

    def _refreshed(self, match: Match) -> tuple[Match, dict[str, Any]]:
        """The match with fresh tokens and shifted times, and its explanation for the journal."""
        explain = match.explain()
        assert match.interaction is not None
        interaction, now = match.interaction, time.time()
        if self.tokens is not None:
            interaction, done = self.tokens(interaction, now)
            if done:
                explain["tokens"] = done
        if self.shift is not None:
            interaction, moved = self.shift(interaction, now)
            if moved:
                explain["shifted"] = moved
        if interaction is not match.interaction:
            match = dataclasses.replace(match, interaction=interaction)
        return match, explain


def _bad_gateway(why: str) -> Reply:
    body = f"virt: {why}\n".encode()
    headers = (("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))))
    return Reply(502, "Bad Gateway", headers, body)
