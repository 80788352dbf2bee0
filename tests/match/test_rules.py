"""Rule parsing: virt.toml's [match] and [[route]] (or the admin API's JSON) into Rules, and
errors that name the key that is wrong."""

from __future__ import annotations

from typing import Any

import pytest

from virt.match.rules import BodyMode, Rules, RulesError
from virt.model import Request


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ({"match": {"threshold": 2}}, "match.threshold: expected a number from 0 to 1"),
        ({"route": [{"path": "users"}]}, "route[0].path: 'users' must start with /"),
        ({"route": [{"body": "loose"}]}, "route[0].body: expected one of"),
        ({"route": [{"ignore": ["cookie:x"]}]}, "route[0].ignore[0]: 'cookie:x' is not a field"),
        ({"route": [{"ignore": ["json:$[["]}]}, "route[0].ignore[0]: bad JSONPath"),
        ({"route": [{"match": [{"field": "query:q", "regex": "("}]}]}, "route[0].match[0].regex"),
        ({"route": [{"weights": {"cookies": 1}}]}, "route[0].weights: unknown group 'cookies'"),
        ({"route": [{"treshold": 1}]}, "route[0]: unknown key 'treshold'"),
        ({"route": {"path": "/x"}}, "route: expected an array of tables"),
    ],
)
def test_bad_rules_name_the_key_that_is_wrong(rules: dict[str, object], message: str) -> None:
    with pytest.raises(RulesError) as e:
        Rules.from_dict(rules, "virt.toml")
    assert f"virt.toml: {message}" in str(e.value)


def test_rules_survive_a_round_trip_through_their_dict_form() -> None:
    data = {
        "match": {"threshold": 0.7, "weights": {"body": 6.0}, "ignore": ["header:x-debug"]},
        "route": [
            {
                "name": "carts",
                "method": "post",
                "path": "/v1/carts/{id}",
                "priority": 2,
                "body": "partial",
                "require": ["json:$.user.id"],
                "match": [{"field": "header:x-tenant", "regex": "^a"}],
            }
        ],
    }
    rules = Rules.from_dict(data)
    assert Rules.from_dict(rules.as_dict()).as_dict() == rules.as_dict()
    assert rules.as_dict()["route"][0]["method"] == "POST"
    assert rules.as_dict()["match"]["weights"]["body"] == 6.0


@pytest.mark.parametrize(
    ("rule", "message"),
    [({"match": {"weights": {"body": float("inf")}}}, "match.weights.body: expected a number"),
     ({"match": {"weights": {"body": float("nan")}}}, "match.weights.body: expected a number"),
     ({"route": [{"match": [{"field": "header:a", "equals": {"x": 1}}]}]},
      "route[0].match[0].equals: expected a string, number or boolean"),
     ({"route": [{"match": [{"field": "header:a", "equals": float("nan")}]}]},
      "route[0].match[0].equals: expected a string, number or boolean")],
)  # fmt: skip
def test_weights_and_equals_that_json_allows_but_scoring_cannot_use_are_refused(
    rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(RulesError, match=message.replace("[", r"\[").replace("]", r"\]")):
        Rules.from_dict(rule, "body")


def test_a_bad_body_mode_is_refused_listing_the_valid_ones() -> None:
    with pytest.raises(RulesError) as refused:
        Rules.from_dict({"route": [{"body": "loose"}]}, "virt.toml")
    assert str(refused.value) == (
        "virt.toml: route[0].body: expected one of fuzzy, exact, partial, ignore, got 'loose'"
    )


def test_a_route_body_mode_reaches_the_policy_as_a_body_mode() -> None:
    rules = Rules.from_dict({"route": [{"path": "/v1/*", "body": "partial"}]})
    request = Request("POST", "https", "h", 443, "/v1/x", "", (), b"")
    assert rules.policy(request).body is BodyMode.PARTIAL
    assert rules.as_dict()["route"][0]["body"] == "partial"
