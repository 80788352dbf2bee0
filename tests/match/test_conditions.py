"""Rule regexes run in linear time (RE2): no pattern stalls replay; unusable ones are refused."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import httpx
import pytest

from virt.match.conditions import MATCHED_CHARS
from virt.match.rules import Rules, RulesError
from virt.model import Request

EVIL = "^(a+)+$"
"""Exponential in a backtracking engine: 25 characters took Python's re 9 seconds."""


def _rules(regex: Any) -> dict[str, Any]:
    return {"route": [{"path": "/v1/*", "match": [{"field": "header:x-tenant", "regex": regex}]}]}


def _request(tenant: str) -> Request:
    return Request("GET", "https", "h", 443, "/v1/x", "", (("X-Tenant", tenant),), b"")


def _holds(rules: Rules, tenant: str) -> bool:
    (condition,) = rules.policy(_request(tenant)).conditions
    return condition.holds(tenant, None)


def _within(seconds: float, work: Any) -> Any:
    """`work()`'s result, failing if it has not returned after `seconds` (a generous bound)."""
    out: list[Any] = []
    worker = threading.Thread(target=lambda: out.append(work()), daemon=True)
    worker.start()
    worker.join(seconds)
    assert out, f"still running after {seconds}s"
    return out[0]


def test_a_catastrophic_pattern_answers_at_once_on_a_long_value() -> None:
    rules = Rules.from_dict(_rules(EVIL))
    assert _within(10, lambda: _holds(rules, "a" * 30 + "!")) is False
    assert _within(10, lambda: _holds(rules, "a" * 100_000 + "!")) is False
    assert _holds(rules, "a" * 100_000) is True


@pytest.mark.parametrize(
    ("regex", "why"),
    [(r"(a)\1", "invalid escape sequence"), ("(?=acme)", "invalid perl operator"),
     ("(?<!x)y", "invalid perl operator"), ("a{1001}", "invalid repetition size"),
     ("(unclosed", "missing )")],
)  # fmt: skip
def test_a_pattern_re2_cannot_run_is_refused_naming_its_key(regex: str, why: str) -> None:
    with pytest.raises(RulesError) as refused:
        Rules.from_dict(_rules(regex), "virt.toml")
    message = str(refused.value)
    assert message.startswith(f"virt.toml: route[0].match[0].regex: {regex!r} cannot be used: ")
    assert why in message
    assert "RE2" in message


def test_a_value_longer_than_the_bound_meets_no_regex() -> None:
    rules = Rules.from_dict(_rules("^a"))
    assert _holds(rules, "a" * MATCHED_CHARS) is True
    assert _holds(rules, "a" * (MATCHED_CHARS + 1)) is False


def test_a_value_that_was_not_utf8_is_still_searched() -> None:
    rules = Rules.from_dict(_rules("^caf"))
    assert _holds(rules, "caf\udce9") is True  # b"caf\xe9", kept as a surrogate


def test_route_paths_with_many_wildcards_match_in_linear_time() -> None:
    rules = Rules.from_dict({"route": [{"name": "deep", "path": "/{a}{b}{c}{d}{e}{f}{g}/x"}]})
    path = "/" + "a" * 50_000
    request = Request("GET", "https", "h", 443, path, "", (), b"")
    assert _within(10, lambda: rules.policy(request).rule) is None


def test_a_catastrophic_rule_over_the_admin_api_leaves_the_server_responsive(  # type: ignore[no-untyped-def]
    virt, tmp_path: Path
) -> None:
    db = tmp_path / "r.db"
    db.touch()
    proc, port, _ = virt.serve(db, proxy=False)
    try:
        base = f"http://127.0.0.1:{port}"
        stub = {
            "request": {"method": "GET", "url": "https://api.example.com/v1/x"},
            "response": {"status": 200, "body": "ok"},
        }
        assert httpx.post(f"{base}/__virt/interactions", json=stub).status_code == 201
        assert httpx.put(f"{base}/__virt/rules", json=_rules(EVIL)).status_code == 200
        refused = httpx.put(f"{base}/__virt/rules", json=_rules(r"(a)\1"))
        assert refused.status_code == 400
        assert refused.json()["detail"].startswith("body: route[0].match[0].regex: ")
        hostile = {"X-Tenant": "a" * 60_000 + "!"}
        answers: list[int] = []
        sender = threading.Thread(
            target=lambda: answers.extend(
                httpx.get(f"{base}/v1/x", headers=hostile, timeout=60).status_code for _ in range(5)
            )
        )
        sender.start()
        for _ in range(5):
            assert httpx.get(f"{base}/__virt/health", timeout=10).status_code == 200
        sender.join(60)
        assert answers == [599] * 5  # the condition does not hold: a miss, never a stall
        fine = httpx.get(f"{base}/v1/x", headers={"X-Tenant": "aaaa"}, timeout=10)
        assert fine.status_code == 200
    finally:
        assert proc.stop() == 0, proc.output()
    assert "Traceback" not in proc.output()
