"""The faults report: what the client did after each fault."""

from __future__ import annotations

from virt.faults import FaultLog, parse_plan
from virt.model import Request
from virt.state import MemoryState


def _attempt(log: FaultLog, state: MemoryState, session: str, key: str | None) -> None:
    assert log.plan is not None
    request = Request("POST", "https", "api.example.com", 443, "/v1/charges", "", ())
    chosen, rule, attempt = log.plan.choose(request, session, state)
    assert rule is not None
    status = 0 if chosen is not None else 200
    log.note(chosen, rule.route, attempt, session, "POST", request.url, key, status)


def test_the_report_says_whether_the_client_retried_with_the_same_key_or_gave_up() -> None:
    log, state = FaultLog(parse_plan(["POST /v1/charges: 503 x1"])), MemoryState()
    _attempt(log, state, "careful", "k1")
    _attempt(log, state, "careful", "k1")
    _attempt(log, state, "naive", "k1")
    _attempt(log, state, "naive", "k2")
    _attempt(log, state, "quitter", "k9")
    faults = {f["session"]: f for f in log.report()["faults"]}
    assert faults["careful"]["next"]["key"] == "same"
    assert faults["naive"]["next"]["key"] == "different"
    assert faults["naive"]["next"]["new_key"] == "k2"
    assert faults["quitter"]["next"] == {"did": "gave up"}
    assert log.report("naive")["faults"][0]["attempt"] == 1
    assert log.report()["injected"] == {"503": 3}


def test_a_new_plan_starts_the_report_again() -> None:
    log, state = FaultLog(parse_plan(["POST /v1/charges: 503"])), MemoryState()
    _attempt(log, state, "s", None)
    log.replace(parse_plan(["POST /v1/charges: reset"]), "admin API")
    assert log.report()["faults"] == []
    log.replace(None, None)
    assert log.plan is None and log.source is None
