"""Echo: what a recorded answer repeats of its request, and what that says of a near match."""

from __future__ import annotations

from typing import Any

import orjson

from virt.match.echo import unsent
from virt.match.score import Side
from virt.model import Request

SIGNUP = {"client_id": "web", "email": "someone@example.com", "username": "someone"}
ANSWER = orjson.dumps({"_id": "668f", "email": "someone@example.com", "username": "someone"})


def fields(body: dict[str, Any], form: bool = False) -> dict[str, str]:
    if form:
        data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
        ctype = "application/x-www-form-urlencoded"
    else:
        data, ctype = orjson.dumps(body), "application/json"
    request = Request(
        "POST", "https", "h", 443, "/signup", headers=(("Content-Type", ctype),), body=data
    )
    return dict(Side.of(request).fields)


def test_a_field_the_answer_repeats_and_the_request_does_not_send_is_named() -> None:
    without_email = {k: v for k, v in SIGNUP.items() if k != "email"}
    assert unsent(fields(without_email), fields(SIGNUP), ANSWER) == "body:$.email"


def test_a_form_field_counts_as_a_body_field_does() -> None:
    sent = fields({"username": "someone"}, form=True)
    recorded = fields({"username": "someone", "email": "someone@example.com"}, form=True)
    assert unsent(sent, recorded, ANSWER) == "form:email"


def test_fields_sent_with_another_value_are_for_echo_to_replace_not_unsent() -> None:
    other = {**SIGNUP, "email": "another@example.com"}
    assert unsent(fields(other), fields(SIGNUP), ANSWER) is None


def test_a_missing_field_the_answer_does_not_repeat_is_no_reason() -> None:
    recorded = fields({**SIGNUP, "password": "correct horse battery"})
    assert unsent(fields(SIGNUP), recorded, ANSWER) is None


def test_short_values_and_numbers_are_no_proof_of_an_echo() -> None:
    answer = orjson.dumps({"currency": "usd", "amount": 1234567890})
    recorded = fields({"currency": "usd", "amount": 1234567890})
    assert unsent({}, recorded, answer) is None


def test_a_request_lacking_many_fields_has_only_the_first_looked_for() -> None:
    recorded_body = {f"field{n:03d}": f"value number {n}" for n in range(40)}
    answer = orjson.dumps({"last": "value number 39"})
    assert unsent({}, fields(recorded_body), answer) is None  # past the bound of 32 looks
    assert unsent({}, fields(dict(list(recorded_body.items())[-20:])), answer) == "body:$.field039"
