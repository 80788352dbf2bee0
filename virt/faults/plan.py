"""A fault plan: rules naming a route, the attempts they apply to and what happens, and the
deterministic choice of the fault a request gets.

A rule is written `[METHOD] PATH: ACTION [ATTEMPTS]`, on the command line (`--fault`), in
virt.toml (`[[fault]]`) and over the admin API (PUT /__virt/faults). The attempt is the number
of the session's request on the rule's route (1 for the first), counted in the session state so
that workers and replicas agree; a seeded fraction draws from (seed, session, rule, attempt)
only, so the same run fails the same requests every time.
"""

from __future__ import annotations

import enum
import hashlib
import math
import random
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from virt.errors import ConfigError
from virt.match.conditions import MATCHED_CHARS, path_pattern, utf8
from virt.model import Request
from virt.state import SessionState

MAX_RULES = 100
"""Rules one plan holds: each covering rule costs a state write per request on its route."""
MAX_SECONDS = 600.0
"""Longest delay or dribble a rule may ask for."""
DEFAULT_SLOW_BODY_S = 2.0
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"})
_HINT = (
    "write [METHOD] PATH: ACTION [ATTEMPTS], e.g. 'POST /v1/charges: 503 x2', "
    "'GET /jobs/{id}: reset #1', 'POST /v1/charges: after x1', '/v1/*: delay 2s 10%' "
    "(docs/faults.md)"
)


class Kind(enum.StrEnum):
    """What a fault does to the client's connection."""

    STATUS = "status"
    """An error status: the route's recorded answer with that status, else a generic one."""
    RESET = "reset"
    """Connection reset by peer (SO_LINGER 0, then close)."""
    EMPTY = "empty"
    """Close without a response."""
    TRUNCATE = "truncate"
    """The headers and half the body, then close."""
    GARBAGE = "garbage"
    """Bytes that are not HTTP, then close."""
    SLOW_BODY = "slow-body"
    """The headers, then the body dribbled over `seconds`."""
    DELAY = "delay"
    """Wait `seconds` (or a seeded draw), then answer."""


_BARE = {k.value: k for k in (Kind.RESET, Kind.EMPTY, Kind.TRUNCATE, Kind.GARBAGE)}
ANSWERING = frozenset({Kind.TRUNCATE, Kind.SLOW_BODY, Kind.DELAY})
"""Kinds that send (part of) the recorded answer: the request is answered as usual first."""


@dataclass(frozen=True, slots=True)
class Action:
    """What a chosen fault does; `after`: the request is answered first (its state changes
    happen), and the client sees the fault instead of the answer."""

    kind: Kind
    status: int = 0
    seconds: float = 0.0
    spread: tuple[str, float, float] | None = None
    """A delay drawn per attempt: ("lognormal", median s, sigma) or ("uniform", low s, high s)."""
    after: bool = False
    text: str = ""

    @property
    def answers(self) -> bool:
        """Whether the request is answered from the recordings before the fault acts."""
        return self.after or self.kind in ANSWERING


@dataclass(frozen=True, slots=True)
class Attempts:
    """Which attempts a rule applies to: `every` (all), `first` N, the `nth`, every `each`th,
    `beyond` the Nth, or a seeded `fraction`."""

    how: str = "every"
    n: int = 0
    fraction: float = 1.0
    text: str = ""

    def hold(self, attempt: int, draw: float) -> bool:
        how = self.how
        if how == "every":
            return True
        if how == "first":
            return attempt <= self.n
        if how == "nth":
            return attempt == self.n
        if how == "each":
            return attempt % self.n == 0
        if how == "beyond":
            return attempt > self.n
        return draw < self.fraction


@dataclass(frozen=True, slots=True)
class Rule:
    """One line of a plan."""

    text: str
    route: str
    method: str | None
    path: str
    action: Action
    attempts: Attempts
    index: int = 0

    def covers(self, request: Request) -> bool:
        if self.method is not None and self.method != request.method.upper():
            return False
        path = request.path
        return (
            len(path) <= MATCHED_CHARS and path_pattern(self.path).fullmatch(utf8(path)) is not None
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "rule": self.text,
            "route": self.route,
            "action": self.action.text,
            "after": self.action.after,
            "attempts": self.attempts.text or "every",
        }


@dataclass(frozen=True, slots=True)
class Chosen:
    """The fault one request gets: its rule, its attempt number, and the action with any drawn
    delay fixed."""

    rule: Rule
    attempt: int
    action: Action
    draw: bytes = b""
    """Seeded bytes for what the action makes up (garbage)."""

    def as_dict(self) -> dict[str, Any]:
        out = {"rule": self.rule.text, "route": self.rule.route, "attempt": self.attempt}
        out["action"] = self.action.text
        if self.action.kind is Kind.DELAY:
            out["seconds"] = round(self.action.seconds, 3)
        return out


@dataclass(frozen=True, slots=True)
class Plan:
    """Rules in order (the first whose attempts hold wins) and the seed of their draws."""

    rules: tuple[Rule, ...] = ()
    seed: int = 0

    def choose(
        self, request: Request, session: str, state: SessionState
    ) -> tuple[Chosen | None, Rule | None, int]:
        """The fault `request` gets (or None), the first rule covering it and its attempt
        number there (None, 0: no rule covers it). Advances the session's attempt counter of
        every rule covering the request, so rules count attempts independently."""
        chosen: Chosen | None = None
        first: tuple[Rule | None, int] = (None, 0)
        for rule in self.rules:
            if not rule.covers(request):
                continue
            attempt = state.advance(f"{session}\0fault\0{rule.index}\0{rule.text}") + 1
            if first[0] is None:
                first = (rule, attempt)
            if chosen is not None:
                continue
            digest = _digest(self.seed, session, rule, attempt)
            draw = int.from_bytes(digest[:8], "big") / 2**64
            if rule.attempts.hold(attempt, draw):
                chosen = Chosen(rule, attempt, _drawn(rule.action, digest), digest)
        return chosen, first[0], first[1]

    def as_dict(self) -> dict[str, Any]:
        return {"seed": self.seed, "faults": [r.as_dict() for r in self.rules]}


def _digest(seed: int, session: str, rule: Rule, attempt: int) -> bytes:
    text = f"{seed}\0{session}\0{rule.index}\0{rule.text}\0{attempt}"
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).digest()


def _drawn(action: Action, digest: bytes) -> Action:
    """`action` with its delay drawn from its distribution, seeded by `digest`."""
    if action.spread is None:
        return action
    rng = random.Random(digest)
    how, a, b = action.spread
    seconds = rng.lognormvariate(math.log(a), b) if how == "lognormal" else rng.uniform(a, b)
    return replace(action, seconds=min(seconds, MAX_SECONDS))


def parse_rule(text: str, index: int = 0, where: str = "--fault") -> Rule:
    """One rule from `[METHOD] PATH: ACTION [ATTEMPTS]`; ConfigError naming what is wrong."""
    route, sep, rest = text.partition(": ")
    if not sep:
        route, sep, rest = text.rpartition(":")
    route, rest = route.strip(), re.sub(r"\s*,\s*", ",", rest.strip())
    if not sep or not route or not rest:
        raise ConfigError(f"{where}: cannot read fault {text!r}", hint=_HINT)
    method, _, path = route.partition(" ") if " " in route else ("", "", route)
    method, path = method.upper(), path.strip()
    if method and method not in _METHODS:
        raise ConfigError(f"{where}: {method!r} in {text!r} is not an HTTP method", hint=_HINT)
    if not path.startswith("/"):
        raise ConfigError(f"{where}: the path in {text!r} must start with /", hint=_HINT)
    tokens = rest.split()
    after = tokens[0].lower() == "after"
    if after:
        tokens = tokens[1:]
    action_tokens, attempt_tokens = _split_attempts(tokens)
    if not action_tokens:
        if not after:
            raise ConfigError(f"{where}: fault {text!r} says nothing to do", hint=_HINT)
        action_tokens = ["empty"]  # the answer is never heard
    action = _action(action_tokens, after, text, where)
    attempts = _attempts(attempt_tokens, text, where)
    try:
        path_pattern(path)
    except Exception as e:
        raise ConfigError(f"{where}: path of {text!r}: {e}", hint=_HINT) from e
    return Rule(text.strip(), route, method or None, path, action, attempts, index)


def _split_attempts(tokens: list[str]) -> tuple[list[str], list[str]]:
    """The action's tokens and the attempts' tokens (the last one or two)."""
    if len(tokens) >= 2 and tokens[-2].lower() == "every":
        return tokens[:-2], tokens[-2:]
    if tokens and re.fullmatch(r"x\d+|#\d+|>\d+|\d+(\.\d+)?%|always|every\d+", tokens[-1].lower()):
        return tokens[:-1], tokens[-1:]
    return tokens, []


def _attempts(tokens: list[str], text: str, where: str) -> Attempts:
    if not tokens or tokens == ["always"]:
        return Attempts()
    spec = " ".join(tokens).lower()
    written = " ".join(tokens)
    if m := re.fullmatch(r"every ?(\d+)", spec):
        n = int(m[1])
        how = "each"
    elif spec.endswith("%"):
        fraction = float(spec[:-1]) / 100
        if not 0 <= fraction <= 1:
            raise ConfigError(f"{where}: {written!r} in {text!r} is not 0% to 100%", hint=_HINT)
        return Attempts("fraction", 0, fraction, written)
    else:
        how = {"x": "first", "#": "nth", ">": "beyond"}[spec[0]]
        n = int(spec[1:])
    if n < 1 and how != "beyond":
        raise ConfigError(f"{where}: {written!r} in {text!r} counts from 1", hint=_HINT)
    return Attempts(how, n, 1.0, written)


def _action(tokens: list[str], after: bool, text: str, where: str) -> Action:
    head, args = tokens[0].lower(), tokens[1:]
    written = ("after " if after else "") + " ".join(tokens)
    if re.fullmatch(r"\d{3}", head) and not args:
        status = int(head)
        if not 400 <= status <= 599:
            raise ConfigError(f"{where}: status {status} in {text!r}: give 400 to 599", hint=_HINT)
        return Action(Kind.STATUS, status=status, after=after, text=written)
    if head in _BARE and not args:
        return Action(_BARE[head], after=after, text=written)
    if head == "slow-body" and len(args) <= 1:
        seconds = _seconds(args[0], text, where) if args else DEFAULT_SLOW_BODY_S
        return Action(Kind.SLOW_BODY, seconds=seconds, after=after, text=written)
    if head == "delay" and len(args) == 1:
        arg = args[0].lower()
        if m := re.fullmatch(r"(lognormal|uniform)\(([^,()]+),([^,()]+)\)", arg):
            how = m[1]
            a = _seconds(m[2], text, where)
            b = float(m[3]) if how == "lognormal" else _seconds(m[3], text, where)
            if a <= 0 or b < 0 or (how == "uniform" and b < a):
                raise ConfigError(f"{where}: bad distribution {arg!r} in {text!r}", hint=_HINT)
            return Action(Kind.DELAY, seconds=a, spread=(how, a, b), after=after, text=written)
        seconds = _seconds(arg, text, where)
        return Action(Kind.DELAY, seconds=seconds, after=after, text=written)
    raise ConfigError(
        f"{where}: unknown fault {' '.join(tokens)!r} in {text!r}: give a status (503), reset, "
        "empty, truncate, garbage, slow-body [DURATION] or delay DURATION",
        hint=_HINT,
    )


def _seconds(value: str, text: str, where: str) -> float:
    """`250ms`, `2s`, `1.5s` or a bare number of seconds."""
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(ms|s)?", value.strip().lower())
    if m is None:
        raise ConfigError(
            f"{where}: {value!r} in {text!r} is not a duration (250ms, 2s)", hint=_HINT
        )
    seconds = float(m[1]) / (1000 if m[2] == "ms" else 1)
    if seconds > MAX_SECONDS:
        raise ConfigError(f"{where}: {value!r} in {text!r}: at most {MAX_SECONDS:.0f}s", hint=_HINT)
    return seconds


def parse_plan(
    rules: Iterable[str | Mapping[str, Any]], seed: int = 0, where: str = "--fault"
) -> Plan:
    """A plan from rule texts, or tables {route, fault, attempts} (virt.toml, the admin API)."""
    parsed: list[Rule] = []
    for i, item in enumerate(rules):
        if len(parsed) >= MAX_RULES:
            raise ConfigError(f"{where}: more than {MAX_RULES} fault rules")
        place = f"{where} #{i + 1}"
        if isinstance(item, Mapping):
            item = _from_table(item, place)
        elif not isinstance(item, str):
            raise ConfigError(f"{place}: expected a string or a table, got {item!r}"[:200])
        parsed.append(parse_rule(item, i, place))
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise ConfigError(f"{where}: the seed must be an integer, got {seed!r}"[:200])
    return Plan(tuple(parsed), seed)


def _from_table(table: Mapping[str, Any], where: str) -> str:
    """`{route = "POST /v1/charges", fault = "503", attempts = "x2"}` as a rule text."""
    unknown = sorted(set(table) - {"route", "fault", "attempts"})
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: attempts, fault, route")
    route, fault, attempts = table.get("route"), table.get("fault"), table.get("attempts", "")
    if not isinstance(route, str) or not isinstance(fault, str) or not isinstance(attempts, str):
        raise ConfigError(f"{where}: route and fault are strings, attempts an optional string")
    return f"{route}: {fault} {attempts}".strip()


def configured_plan(
    config: Mapping[str, Any], rules: Iterable[str], seed: int | None, source: str
) -> Plan | None:
    """The plan of virt.toml's `[[fault]]` tables and `[faults] seed`, then the --fault
    `rules` and --fault-seed `seed`; None when neither names a fault."""
    tables = config.get("fault", [])
    if not isinstance(tables, list):
        raise ConfigError(f"{source}: fault is an array of tables: write [[fault]]")
    settings = config.get("faults", {})
    if not isinstance(settings, Mapping) or set(settings) - {"seed"}:
        raise ConfigError(f"{source}: [faults] takes one key, seed (an integer)")
    listed: list[str | Mapping[str, Any]] = [*tables, *rules]
    if not listed:
        return None
    chosen_seed = seed if seed is not None else settings.get("seed", 0)
    return parse_plan(listed, chosen_seed, f"{source} [[fault]]" if tables else "--fault")
