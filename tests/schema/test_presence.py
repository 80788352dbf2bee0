"""Presence: answer fields that come and go with request fields, learned from recordings."""

from __future__ import annotations

from typing import Any

import orjson

from tests.schema.samples import signup_answer
from virt.model import Interaction, Request, Response
from virt.schema.book import Recorded
from virt.schema.presence import Tie, follow, learn, sent

JSON = (("Content-Type", "application/json"),)


def signup(n: int, sent_body: dict[str, Any], answer: dict[str, Any]) -> Recorded:
    request = Request(
        "POST", "https", "h", 443, "/signup", headers=JSON, body=orjson.dumps(sent_body)
    )
    response = Response(200, headers=JSON, body=orjson.dumps(answer))
    return Recorded(n, Interaction(request, response, id=n), answer)


def request(body: dict[str, Any]) -> Request:
    return Request("POST", "https", "h", 443, "/signup", headers=JSON, body=orjson.dumps(body))


ASKED = [
    {"email": "a@example.com", "username": "a"},
    {"email": "b@example.com"},
    {"phone_number": "+12345678900"},
    {"email": "c@example.com", "phone_number": "+12345678901", "username": "c"},
    {"username": "d"},
]
RECORDED = [signup(n, {"client_id": "web", **b}, signup_answer(b)) for n, b in enumerate(ASKED, 1)]


def test_fields_that_come_with_a_request_field_in_every_recording_are_tied_to_it() -> None:
    ties = {t.key: t.fields for t in learn(RECORDED, 200)}
    assert ties == {
        "email": ("body:email",),
        "email_verified": ("body:email",),
        "phone_number": ("body:phone_number",),
        "phone_verified": ("body:phone_number",),
        "username": ("body:username",),
    }


def test_an_answer_follows_the_fields_the_request_sends() -> None:
    asked = request({"client_id": "web", "phone_number": "+19999999999", "username": "e"})
    template = RECORDED[0].body  # email and username
    made, changed = follow(template, learn(RECORDED, 200), asked, RECORDED, ())
    assert sorted(made) == ["_id", "phone_number", "phone_verified", "username"]
    assert changed == ["-email", "-email_verified", "+phone_number", "+phone_verified"]
    assert "email" in template  # the recording's own answer is left as it was


def test_a_tie_seen_once_either_way_is_not_learned() -> None:
    assert learn(RECORDED[:3], 200) == []  # phone_number sent once: a coincidence for all we know


def test_a_field_tied_to_fields_sent_together_waits_for_all_of_them_or_none() -> None:
    tie = Tie("address", ("body:city", "body:street"))
    donor = signup(9, {}, {"_id": "1", "address": "1 Main St"})
    half = request({"city": "Paris"})
    assert follow({"_id": "2"}, [tie], half, [donor], ()) == ({"_id": "2"}, [])
    both = request({"city": "Paris", "street": "Rue de Rivoli"})
    assert follow({"_id": "2"}, [tie], both, [donor], ())[0] == {"_id": "2", "address": "1 Main St"}


def test_what_a_request_sends_is_its_query_form_and_top_level_body_fields() -> None:
    form = Request(
        "POST",
        "https",
        "h",
        443,
        "/charges",
        "expand=customer",
        (("Content-Type", "application/x-www-form-urlencoded"),),
        b"amount=100&metadata[order]=7",
    )
    assert sent(form) == {"query:expand", "form:amount", "form:metadata[order]"}
    assert sent(request({"user": {"name": "n"}})) == {"body:user"}


def test_a_field_put_in_takes_the_value_of_the_nearest_recording_that_has_it() -> None:
    tie = Tie("plan", ("body:plan_id",))
    far = signup(1, {}, {"_id": "1", "plan": {"name": "free"}})
    near = signup(2, {}, {"_id": "2", "plan": {"name": "pro"}})
    asked = request({"plan_id": "pro-2024"})
    assert follow({"_id": "3"}, [tie], asked, [far, near], ())[0]["plan"] == {"name": "free"}
    assert follow({"_id": "3"}, [tie], asked, [far, near], (2, 1))[0]["plan"] == {"name": "pro"}
