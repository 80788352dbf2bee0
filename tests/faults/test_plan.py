"""Fault plans: what a rule says, which attempts it picks, and that the pick depends on the seed,
the session and the attempt only."""

from __future__ import annotations

import pytest

from virt.errors import ConfigError
from virt.faults import Kind, parse_plan, parse_rule
from virt.faults.plan import configured_plan
from virt.model import Request
from virt.state import MemoryState


def _get(path: str, method: str = "GET") -> Request:
    return Request(method, "https", "api.example.com", 443, path, "", ())


@pytest.mark.parametrize(
    ("text", "kind", "after", "attempts"),
    [
        ("POST /v1/charges: 503 x2", Kind.STATUS, False, ("first", 2)),
        ("POST /v1/charges: after x1", Kind.EMPTY, True, ("first", 1)),
        ("POST /v1/charges: after reset", Kind.RESET, True, ("every", 0)),
        ("GET /jobs/{id}: reset #3", Kind.RESET, False, ("nth", 3)),
        ("/v1/*: delay 2s every 4", Kind.DELAY, False, ("each", 4)),
        ("GET /a: truncate >2", Kind.TRUNCATE, False, ("beyond", 2)),
        ("GET /a: slow-body 500ms", Kind.SLOW_BODY, False, ("every", 0)),
        ("GET /a: garbage 25%", Kind.GARBAGE, False, ("fraction", 0)),
    ],
)
def test_a_rule_reads_its_route_action_and_attempts(
    text: str, kind: Kind, after: bool, attempts: tuple[str, int]
) -> None:
    rule = parse_rule(text)
    assert rule.action.kind is kind
    assert rule.action.after is after
    assert (rule.attempts.how, rule.attempts.n) == attempts


def test_durations_and_distributions_are_read_in_seconds() -> None:
    assert parse_rule("GET /a: delay 250ms").action.seconds == 0.25
    assert parse_rule("GET /a: slow-body").action.seconds == 2.0
    spread = parse_rule("GET /a: delay uniform(100ms, 300ms) 50%").action.spread
    assert spread == ("uniform", 0.1, 0.3)
    assert parse_rule("GET /a: delay lognormal(200ms,0.5)").action.spread == (
        "lognormal",
        0.2,
        0.5,
    )


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("POST /v1/charges 503", "cannot read fault"),
        ("FETCH /a: 503", "'FETCH'"),
        ("GET a: 503", "must start with /"),
        ("GET /a: explode", "unknown fault 'explode'"),
        ("GET /a: 200", "give 400 to 599"),
        ("GET /a: 503 x0", "counts from 1"),
        ("GET /a: 503 150%", "0% to 100%"),
        ("GET /a: delay soon", "not a duration"),
        ("GET /a: delay 3600s", "at most 600s"),
        ("GET /a: delay uniform(2s,1s)", "bad distribution"),
    ],
)
def test_a_bad_rule_is_refused_saying_what_is_wrong(text: str, says: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_rule(text)
    assert says in str(e.value)
    assert "POST /v1/charges: 503 x2" in (e.value.hint or "")


def test_a_rule_covers_its_method_and_path_template_only() -> None:
    rule = parse_rule("GET /v1/jobs/{id}: 503")
    assert rule.covers(_get("/v1/jobs/j1"))
    assert not rule.covers(_get("/v1/jobs/j1", "POST"))
    assert not rule.covers(_get("/v1/jobs/j1/log"))
    assert parse_rule("/v1/**: 503").covers(_get("/v1/jobs/j1/log", "DELETE"))


def _picks(plan_text: str, session: str, n: int, seed: int = 0) -> list[bool]:
    plan = parse_plan([plan_text], seed)
    state = MemoryState()
    return [plan.choose(_get("/a"), session, state)[0] is not None for _ in range(n)]


def test_attempt_rules_pick_the_attempts_they_name() -> None:
    assert _picks("GET /a: 503 x2", "s", 4) == [True, True, False, False]
    assert _picks("GET /a: 503 #3", "s", 4) == [False, False, True, False]
    assert _picks("GET /a: 503 every 2", "s", 4) == [False, True, False, True]
    assert _picks("GET /a: 503 >2", "s", 4) == [False, False, True, True]
    assert _picks("GET /a: 503", "s", 3) == [True, True, True]


def test_a_fraction_depends_on_seed_session_and_attempt_only() -> None:
    once = _picks("GET /a: 503 30%", "alice", 200, seed=5)
    assert once == _picks("GET /a: 503 30%", "alice", 200, seed=5)
    assert once != _picks("GET /a: 503 30%", "bob", 200, seed=5)
    assert once != _picks("GET /a: 503 30%", "alice", 200, seed=6)
    assert 40 <= sum(once) <= 80  # about 30 % of 200


def test_a_drawn_delay_is_the_same_for_the_same_attempt() -> None:
    plan = parse_plan(["GET /a: delay lognormal(200ms,0.5)"], 3)
    draws = []
    for _ in range(2):
        state = MemoryState()
        chosen = [plan.choose(_get("/a"), "s", state)[0] for _ in range(5)]
        draws.append([c.action.seconds for c in chosen if c is not None])
    assert draws[0] == draws[1]
    assert len(set(draws[0])) == 5


def test_sessions_count_their_attempts_apart() -> None:
    plan = parse_plan(["GET /a: 503 x1"])
    state = MemoryState()
    assert plan.choose(_get("/a"), "a", state)[0] is not None
    assert plan.choose(_get("/a"), "a", state)[0] is None
    assert plan.choose(_get("/a"), "b", state)[0] is not None


def test_virt_toml_tables_come_before_command_line_rules() -> None:
    config = {
        "fault": [{"route": "GET /a", "fault": "503", "attempts": "x1"}],
        "faults": {"seed": 9},
    }
    plan = configured_plan(config, ["GET /b: reset"], None, "virt.toml")
    assert plan is not None
    assert [r.text for r in plan.rules] == ["GET /a: 503 x1", "GET /b: reset"]
    assert plan.seed == 9
    assert configured_plan(config, [], 4, "virt.toml").seed == 4  # type: ignore[union-attr]
    assert configured_plan({}, [], None, "virt.toml") is None
    with pytest.raises(ConfigError, match="unknown key 'status'"):
        configured_plan({"fault": [{"route": "GET /a", "status": 503}]}, [], None, "virt.toml")
