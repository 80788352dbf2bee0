"""Request values nobody recorded, carried into the answer, end to end: a real shop API is
recorded taking Stripe-style form-encoded charges and answering GraphQL queries, switched off,
and `virt serve` answers a charge of a new amount and queries with new variables with those
values in place, valid against the shapes the recordings show."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests

from tests.e2e.fallback import assert_valid, inferred, last_entry, record, serve
from tests.e2e.shopserver import SEARCH_QUERY, USER_QUERY, create_app

CHARGES = [
    {"amount": "2000", "currency": "usd", "description": "Coffee beans"},
    {"amount": "4500", "currency": "eur", "description": "Atlas of maps"},
    {"amount": "1250", "currency": "usd", "description": "Green tea"},
]
USERS = ["u1", "u2"]
SEARCHES = [("lamp", 2), ("desk", 2)]


@dataclass
class Recorded:
    db: Path = Path()
    charges: list[dict[str, Any]] = field(default_factory=list)
    request_ids: set[str] = field(default_factory=set)
    graphql: list[dict[str, Any]] = field(default_factory=list)


def charge(client: httpx.Client, base: str, form: dict[str, str], key: str) -> httpx.Response:
    """What a Stripe client sends: a form-encoded body and a fresh Idempotency-Key."""
    return client.post(f"{base}/v1/charges", data=form, headers={"Idempotency-Key": key})


def user(client: httpx.Client, base: str, user_id: str) -> httpx.Response:
    body = {"operationName": "User", "query": USER_QUERY, "variables": {"id": user_id}}
    return client.post(f"{base}/graphql", json=body)


def search(client: httpx.Client, base: str, term: str, first: int) -> httpx.Response:
    variables = {"term": term, "first": first}
    body = {"operationName": "Search", "query": SEARCH_QUERY, "variables": variables}
    return client.post(f"{base}/graphql", json=body)


def _drive(client: httpx.Client, origin: str) -> Recorded:
    rec = Recorded()
    for form in CHARGES:
        resp = charge(client, origin, form, f"idem-{uuid.uuid4()}")
        assert resp.status_code == 200, resp.text
        rec.charges.append(resp.json())
        rec.request_ids.add(resp.headers["request-id"])
    calls = [user(client, origin, u) for u in USERS]
    calls += [search(client, origin, term, first) for term, first in SEARCHES]
    for resp in calls:
        assert resp.status_code == 200, resp.text
        assert "errors" not in resp.json(), resp.text
        rec.graphql.append(resp.json())
    return rec


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Recorded:
    db, rec = record(create_app(), tmp_path_factory.mktemp("shop"), confdir, _drive)
    rec.db = db
    assert rec.graphql[0]["data"]["user"]["id"] == "u1"
    assert rec.graphql[2]["data"]["search"]["term"] == "lamp"
    return rec


@pytest.fixture(scope="module")
def base(recorded: Recorded) -> Iterator[str]:
    with serve(recorded.db) as url:
        yield url


def assert_answer_says_what_it_is(
    base: str, resp: httpx.Response | requests.Response, path: str, *sent: str
) -> None:
    """A fallback, built from a recording of the route with the request's values in place; or
    a fuzzy match whose echo carried every value sent that differs from the recording.

    Both are honest answers. What is not: a confident match that answers with the recorded
    values (an amount of 2000 for a charge of 2500) because only one field differed."""
    match = resp.headers["x-virt-match"]
    entry = last_entry(base, "POST", path)
    if match.startswith("fuzzy"):
        echoed = " ".join(entry["explain"].get("echoed", []))
        assert all(name in echoed for name in sent), entry["explain"]
        return
    assert match == "fallback;source=template", match
    assert entry["match"] == "fallback"
    filled = " ".join(entry["explain"]["fallback"]["filled"])
    assert all(name in filled for name in sent), entry["explain"]["fallback"]


@pytest.mark.parametrize(
    "form",
    [
        {"amount": "2500", "currency": "usd", "description": "Coffee beans"},
        {"amount": "999", "currency": "eur", "description": "Street map"},
    ],
    ids=["new-amount", "new-everything"],
)
def test_a_charge_nobody_recorded_carries_its_amount_as_a_number(
    base: str, recorded: Recorded, form: dict[str, str]
) -> None:
    key = f"idem-{uuid.uuid4()}"
    # Stripe's own Python library sends with requests: so does this client
    resp = requests.post(
        f"{base}/v1/charges", data=form, headers={"Idempotency-Key": key}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert_valid(inferred(recorded.charges), body)
    # form "2500" is JSON 2500 where the recorded responses hold a number
    assert type(body["amount"]) is int
    assert body["amount"] == int(form["amount"])
    assert (body["currency"], body["description"]) == (form["currency"], form["description"])
    assert (body["object"], body["status"]) == ("charge", "succeeded")
    assert body["id"].startswith("ch_")
    assert body["id"] not in {c["id"] for c in recorded.charges}, "a recorded charge's id"
    changed = [k for k in form if all(c[k] != form[k] for c in CHARGES)]
    assert_answer_says_what_it_is(base, resp, "/v1/charges", *changed)
    if resp.headers["x-virt-match"].startswith("fallback"):
        assert resp.headers["request-id"] not in recorded.request_ids, "a recorded request id"


def test_a_charge_nobody_recorded_answers_with_its_own_idempotency_key(base: str) -> None:
    # the service repeats the key in its answer's headers, as Stripe does: an answer that
    # carries another charge's key tells the client it got someone else's charge
    key = f"idem-{uuid.uuid4()}"
    form = {"amount": "2500", "currency": "usd", "description": "Coffee beans"}
    resp = requests.post(
        f"{base}/v1/charges", data=form, headers={"Idempotency-Key": key}, timeout=30
    )
    assert resp.status_code == 200, resp.text
    assert resp.headers["idempotency-key"] == key


def test_a_charge_retried_with_its_idempotency_key_answers_the_same_charge(base: str) -> None:
    # a client that lost the answer sends the same request again, with the same key: the API
    # answers the charge it made, not a second one; a new key is a new charge
    form = {"amount": "3100", "currency": "usd", "description": "Coffee beans"}
    key, other = f"idem-{uuid.uuid4()}", f"idem-{uuid.uuid4()}"
    with requests.Session() as client:
        first, retried, new = (
            client.post(f"{base}/v1/charges", data=form, headers={"Idempotency-Key": k})
            for k in (key, key, other)
        )
    assert first.status_code == retried.status_code == new.status_code == 200
    assert retried.json() == first.json()
    assert new.json()["id"] != first.json()["id"]


def test_a_graphql_query_for_a_user_nobody_fetched_carries_the_new_id(
    base: str, recorded: Recorded
) -> None:
    with httpx.Client(timeout=30) as client:
        resp = user(client, base, "u9")
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert_valid(inferred(recorded.graphql), body)
    assert body["data"]["user"]["id"] == "u9"
    assert body["data"]["user"].keys() == {"id", "name", "email"}
    assert_answer_says_what_it_is(base, resp, "/graphql", "id")


def test_a_graphql_search_with_new_variables_carries_the_new_term(
    base: str, recorded: Recorded
) -> None:
    with httpx.Client(timeout=30) as client:
        resp = search(client, base, "chair", 2)
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert_valid(inferred(recorded.graphql), body)
    found = body["data"]["search"]
    assert found["term"] == "chair"
    assert len(found["products"]) <= 2
    assert_answer_says_what_it_is(base, resp, "/graphql", "term")
