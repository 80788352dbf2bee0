"""The fallback stage through the engine, against real SQLite stores: what it answers for
requests nobody recorded, from what, and what it refuses to make up."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.schema.samples import signup_answer
from virt.match.engine import Engine, Match, MatchKind
from virt.model import Interaction, Request, Response, header
from virt.normalize import keys
from virt.normalize.fields import PAGING_QUERY
from virt.schema import paging
from virt.schema.book import SAMPLE
from virt.schema.fallback import Fallback
from virt.schema.infer import infer
from virt.schema.objects import LOOK_EVERY
from virt.schema.validate import is_valid
from virt.state import open_state
from virt.store import Store

HOST = "api.example.com"
JSON = (("Content-Type", "application/json"),)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def get(path: str, query: str = "") -> Request:
    return Request("GET", "https", HOST, 443, path, query)


def send(method: str, path: str, body: Any, form: bool = False) -> Request:
    if form:
        data = "&".join(f"{k}={v}" for k, v in body.items()).encode()
        headers: tuple[tuple[str, str], ...] = (
            ("Content-Type", "application/x-www-form-urlencoded"),
        )
    else:
        data, headers = orjson.dumps(body), JSON
    return Request(method, "https", HOST, 443, path, headers=headers, body=data)


def record(store: Store, request: Request, status: int, body: Any, raw: bytes | None = None) -> int:
    data = raw if raw is not None else orjson.dumps(body)
    headers = (("Content-Type", "application/json" if raw is None else "application/octet-stream"),)
    response = Response(status, headers=headers, body=data)
    written = store.insert(Interaction(request, response), keys(request))
    assert written.id is not None
    return written.id


def engine(store: Store) -> Engine:
    return Engine(store, fallback=Fallback)


def body(match: Match) -> Any:
    assert match.interaction is not None
    return orjson.loads(match.interaction.response.body)


def item(n: int) -> dict[str, Any]:
    return {"id": n, "name": f"item {n}", "price": 100 + n, "in_stock": n % 2 == 0}


@pytest.fixture
def items(store: Store) -> Store:
    for n in (1, 2, 3):
        record(store, get(f"/items/{n}"), 200, item(n))
    return store


def test_an_unrecorded_id_on_a_known_route_is_answered_from_the_nearest_recording(
    items: Store,
) -> None:
    match = engine(items).match(get("/items/42"))
    assert match.kind is MatchKind.FALLBACK
    assert match.header_value == "fallback;source=template"
    answer = body(match)
    assert answer["id"] == 42  # the path's id, in the answer's own type
    assert set(answer) == {"id", "name", "price", "in_stock"}
    schema = infer([item(n) for n in (1, 2, 3)])
    assert is_valid(schema, answer)
    explained = match.explain()["fallback"]
    assert explained["source"] == "template"
    assert explained["route"] == f"GET https://{HOST}:443/items/{{id}}"
    assert "path[2]" in explained["filled"]


def test_the_same_unrecorded_request_gets_the_same_bytes_from_another_engine(items: Store) -> None:
    first = engine(items).match(get("/items/77"))
    second = engine(items).match(get("/items/77"))
    assert first.interaction is not None and second.interaction is not None
    assert first.interaction.response.body == second.interaction.response.body
    assert first.interaction.response.headers == second.interaction.response.headers


def test_a_route_nothing_knows_stays_a_miss(items: Store) -> None:
    match = engine(items).match(get("/orders/1"))
    assert match.kind is MatchKind.MISS
    assert "fallback" not in match.explain()


def test_without_the_stage_an_unrecorded_id_is_a_miss(items: Store) -> None:
    assert Engine(items).match(get("/items/42")).kind is MatchKind.MISS


def test_a_route_of_bytes_is_never_made_up(store: Store) -> None:
    for n in (1, 2):
        record(store, get(f"/blobs/{n}"), 200, None, raw=bytes([n]) * 64)
    match = engine(store).match(get("/blobs/9"))
    assert match.kind is MatchKind.MISS
    assert "not JSON" in match.explain()["fallback"]["refused"]


def test_a_template_learned_from_sibling_paths_answers_a_new_name(store: Store) -> None:
    for name in ("alice", "bob"):
        record(store, get(f"/users/{name}"), 200, {"login": name, "followers": 3})
    match = engine(store).match(get("/users/carol"))
    assert match.kind is MatchKind.FALLBACK
    assert body(match) == {"login": "carol", "followers": 3}
    assert match.explain()["fallback"]["route"].endswith("/users/{}")


def test_sibling_paths_with_answers_of_other_shapes_are_not_one_route(store: Store) -> None:
    record(store, get("/api/status"), 200, {"ok": True})
    record(store, get("/api/version"), 200, {"version": "1.2"})
    assert engine(store).match(get("/api/health")).kind is MatchKind.MISS


@pytest.fixture
def things(store: Store) -> Store:
    for n, (name, price) in enumerate((("lamp", 30), ("desk", 200)), start=1):
        created = {"id": f"th_{n}a9f3k2", "name": name, "price": price, "status": "new"}
        record(store, send("POST", "/things", {"name": name, "price": price}), 201, created)
        record(store, get(f"/things/th_{n}a9f3k2"), 200, created)
    listed = [
        {"id": f"th_{n}a9f3k2", "name": name, "price": price, "status": "new"}
        for n, (name, price) in enumerate((("lamp", 30), ("desk", 200)), start=1)
    ]
    record(store, get("/things"), 200, {"data": listed, "has_more": False})
    record(store, send("DELETE", "/things/th_1a9f3k2", None), 204, None, raw=b"")
    record(store, get("/things/th_1a9f3k2"), 404, {"detail": "Not Found"})
    record(store, send("POST", "/things", {"name": "bad"}), 422, {"detail": "price missing"})
    return store


def test_a_create_echoes_the_sent_values_with_a_new_id_and_is_remembered(things: Store) -> None:
    e = engine(things)
    created = e.match(send("POST", "/things", {"name": "chair", "price": 45}), "s1")
    assert created.kind is MatchKind.FALLBACK
    assert created.interaction is not None and created.interaction.response.status == 201
    new = body(created)
    assert (new["name"], new["price"], new["status"]) == ("chair", 45, "new")
    assert new["id"] not in ("th_1a9f3k2", "th_2a9f3k2") and new["id"].startswith("th_")
    read = e.match(get(f"/things/{new['id']}"), "s1")
    assert body(read) == new
    listed = e.match(get("/things"), "s1")
    assert [t["id"] for t in body(listed)["data"]][-1] == new["id"]
    # another session sees none of it
    assert new["id"] not in [t["id"] for t in body(e.match(get("/things"), "s2"))["data"]]
    gone = e.match(send("DELETE", f"/things/{new['id']}", None), "s1")
    assert gone.interaction is not None and gone.interaction.response.status == 204
    after = e.match(get(f"/things/{new['id']}"), "s1")
    assert after.interaction is not None and after.interaction.response.status == 404
    assert body(after) == {"detail": "Not Found"}
    e.reset()
    assert new["id"] not in [t["id"] for t in body(e.match(get("/things"), "s1"))["data"]]


def test_a_body_of_the_wrong_shape_gets_the_routes_recorded_client_error(things: Store) -> None:
    match = engine(things).match(send("POST", "/things", {"name": "chair", "price": "cheap"}))
    assert match.interaction is not None
    assert match.interaction.response.status == 422
    assert body(match) == {"detail": "price missing"}
    violations = match.explain()["fallback"]["violations"]
    assert violations[0]["pointer"] == "/price" and violations[0]["rule"] == "type"
    assert "cheap" not in orjson.dumps(violations).decode()


def test_a_form_value_goes_into_a_json_number(store: Store) -> None:
    for amount, key in ((1000, "k1"), (2000, "k2")):
        charge = {"id": f"ch_{key}x8Zq", "object": "charge", "amount": amount, "currency": "usd"}
        record(
            store,
            send("POST", "/v1/charges", {"amount": amount, "currency": "usd"}, form=True),
            200,
            charge,
        )
    match = engine(store).match(
        send("POST", "/v1/charges", {"amount": 2500, "currency": "usd"}, form=True)
    )
    assert match.kind is MatchKind.FALLBACK
    answer = body(match)
    assert answer["amount"] == 2500 and answer["currency"] == "usd"
    assert answer["id"] not in ("ch_k1x8Zq", "ch_k2x8Zq")
    assert match.interaction is not None
    assert header(match.interaction.response.headers, "content-length") == str(
        len(match.interaction.response.body)
    )


@pytest.fixture
def paged(store: Store) -> Store:
    everything = [{"id": n, "name": f"item {n}"} for n in range(1, 26)]
    for page in (1, 2):
        chunk = everything[(page - 1) * 10 : page * 10]
        answer = {
            "items": chunk,
            "page": page,
            "per_page": 10,
            "total": 25,
            "has_more": True,
            "next": f"/items?page={page + 1}&per_page=10",
        }
        record(store, get("/items", f"page={page}&per_page=10"), 200, answer)
    return store


def test_a_page_past_the_recorded_ones_continues_the_collection_and_says_it_is_last(
    paged: Store,
) -> None:
    page = body(engine(paged).match(get("/items", "page=3&per_page=10")))
    assert [i["id"] for i in page["items"]] == [21, 22, 23, 24, 25]
    assert (page["page"], page["has_more"], page["next"], page["total"]) == (3, False, None, 25)


def test_another_page_size_cuts_the_same_collection(paged: Store) -> None:
    e = engine(paged)
    first = body(e.match(get("/items", "page=1&per_page=4")))
    second = body(e.match(get("/items", "page=2&per_page=4")))
    assert [i["id"] for i in first["items"]] == [1, 2, 3, 4]
    assert [i["id"] for i in second["items"]] == [5, 6, 7, 8]
    assert second["items"][0]["name"] == "item 5"
    assert first["has_more"] is True and first["per_page"] == 4
    assert "page=2" in first["next"] and "per_page=4" in first["next"]


def test_a_page_past_the_end_is_empty_and_last(paged: Store) -> None:
    page = body(engine(paged).match(get("/items", "page=9&per_page=10")))
    assert (page["items"], page["has_more"], page["next"]) == ([], False, None)


@pytest.fixture
def checkpoints(store: Store) -> Store:
    """Auth0's checkpoint paging: `take` items from the opaque cursor `from`, which the page
    before handed out as `next`; the last page has no `next` at all."""
    members = [{"user_id": f"auth0|{n:024x}", "email": f"m{n}@example.com"} for n in range(5)]
    cursors = ["", "MjAyMy0wMy0xNCwxMzozNg==", "MjAyMy0wMy0xNCwxNDowMQ=="]
    for k, start in enumerate((0, 2, 4)):
        answer: dict[str, Any] = {"members": members[start : start + 2]}
        if k < 2:
            answer["next"] = cursors[k + 1]
        query = f"from={cursors[k]}&take=2" if cursors[k] else "take=2"
        record(store, get("/api/v2/organizations/org_1/members", query), 200, answer)
    return store


def test_an_opaque_cursor_leads_where_the_page_that_handed_it_out_ends(
    checkpoints: Store,
) -> None:
    e = engine(checkpoints)
    match = e.match(
        get("/api/v2/organizations/org_1/members", "from=MjAyMy0wMy0xNCwxMzozNg==&take=3")
    )
    assert match.kind is MatchKind.FALLBACK
    page = body(match)
    assert [m["email"] for m in page["members"]] == [
        "m2@example.com",
        "m3@example.com",
        "m4@example.com",
    ]
    # the last page, as the recorded last page says it: without `next`, not with a null one
    assert "next" not in page


def test_a_page_before_the_end_hands_out_a_cursor(checkpoints: Store) -> None:
    page = body(engine(checkpoints).match(get("/api/v2/organizations/org_1/members", "take=1")))
    assert [m["email"] for m in page["members"]] == ["m0@example.com"]
    following = get("/api/v2/organizations/org_1/members", f"from={page['next']}&take=2")
    after = body(engine(checkpoints).match(following))
    assert [m["email"] for m in after["members"]] == ["m1@example.com", "m2@example.com"]


def test_a_page_nobody_recorded_between_two_recorded_ones_hands_out_the_cursor_after_it(
    store: Store,
) -> None:
    # the first page and the last were recorded; the one between them, which handed out the
    # last one's cursor, was not: the page made in its place leads on to the recorded one
    members = [{"user_id": f"auth0|{n:024x}", "email": f"m{n}@example.com"} for n in range(5)]
    route = "/api/v2/organizations/org_1/members"
    second, third = "MjAyMy0wMy0xNCwxMzozNg==", "MjAyMy0wMy0xNCwxNDowMQ=="
    record(store, get(route, "take=2"), 200, {"members": members[:2], "next": second})
    record(store, get(route, f"from={third}&take=2"), 200, {"members": members[4:]})
    page = body(engine(store).match(get(route, f"from={second}&take=2")))
    assert page["next"] == third
    made = [m["user_id"] for m in page["members"]]
    assert len(made) == 2 and len(set(made)) == 2
    assert not set(made) & {m["user_id"] for m in members}
    assert all(m.startswith("auth0|") for m in made)
    last = body(engine(store).match(get(route, f"from={third}&take=3")))
    assert [m["email"] for m in last["members"]] == ["m4@example.com"]
    assert "next" not in last


def test_pages_by_cursor_recorded_in_any_order_take_their_places_in_the_chain(
    store: Store,
) -> None:
    # Stripe-style: each page starts after the id of the item before; recorded last page first
    items = [{"id": f"cus_{n:04d}", "name": f"customer {n}"} for n in range(12)]
    for start in (9, 6, 3):
        query = f"limit=3&starting_after=cus_{start - 1:04d}"
        answer = {"data": items[start : start + 3], "has_more": start < 9}
        record(store, get("/v1/customers", query), 200, answer)
    record(store, get("/v1/customers", "limit=3"), 200, {"data": items[:3], "has_more": True})
    page = body(engine(store).match(get("/v1/customers", "limit=5&starting_after=cus_0004")))
    assert [c["id"] for c in page["data"]] == [f"cus_{n:04d}" for n in range(5, 10)]
    assert page["has_more"] is True


SIGNUP = {"client_id": "test-client_id", "connection": "db", "password": "<secret:6d43b329>"}


@pytest.fixture
def signups(store: Store) -> Store:
    """Auth0's signup: the answer holds `email` and `email_verified` when the request sent an
    email, `phone_number` and `phone_verified` when it sent a phone number."""
    asked = [
        {"email": "mytestaccount@example.com", "username": "mytestaccount"},
        {"email": "mytestaccount@example.com"},
        {"phone_number": "+12345678900"},
        {"email": "mytestaccount@example.com", "username": "mytestaccount"},
        {
            "email": "mytestaccount@example.com",
            "phone_number": "+12345678900",
            "username": "mytestaccount",
        },
        {"username": "mytestaccount"},
    ]
    for n, sent in enumerate(asked):
        answer = signup_answer(sent, f"668fbaa9d0c86eb15afa21f{n}")
        record(store, send("POST", "/dbconnections/signup", {**SIGNUP, **sent}), 200, answer)
    return store


def test_a_near_recording_that_would_answer_a_value_never_sent_is_no_match(
    signups: Store,
) -> None:
    # the last but one recording, without its email: near enough to score over the threshold
    asked = {**SIGNUP, "phone_number": "+12345678900", "username": "mytestaccount"}
    missed = Engine(signups).match(send("POST", "/dbconnections/signup", asked))
    assert missed.kind is MatchKind.MISS
    assert missed.comparison is not None and missed.score >= 0.85
    assert missed.comparison.failed == "body:$.email: not sent, and the answer repeats it"
    made = engine(signups).match(send("POST", "/dbconnections/signup", asked))
    assert made.kind is MatchKind.FALLBACK
    # the answer has the fields that go with what was sent, and none that go with an email
    assert body(made) == {
        "_id": body(made)["_id"],
        "username": "mytestaccount",
        "phone_number": "+12345678900",
        "phone_verified": False,
    }


def test_a_collection_recorded_as_more_pages_than_a_profile_samples_is_cut_from_all_of_them(
    store: Store,
) -> None:
    pages_recorded = SAMPLE + 30
    for page in range(1, pages_recorded + 1):
        chunk = [{"id": n, "name": f"item {n}"} for n in (2 * page - 1, 2 * page)]
        answer = {"items": chunk, "has_more": page < pages_recorded}
        record(store, get("/items", f"page={page}&per_page=2"), 200, answer)
    page = body(engine(store).match(get("/items", "page=61&per_page=4")))
    # items 241 to 244 were recorded on pages 121 and 122, past the profile's first SAMPLE
    assert [i["name"] for i in page["items"]] == [f"item {n}" for n in range(241, 245)]
    assert page["has_more"] is True


def test_every_parameter_the_fallback_pages_by_is_one_scoring_never_takes_for_another() -> None:
    # a page the fallback would cut must never be answered by a recording of another page first
    pages_by = {*paging.SIZE, *paging.PAGE, *paging.OFFSET, *paging.CURSOR}
    assert pages_by <= PAGING_QUERY


@pytest.mark.parametrize(
    ("query", "role", "value"),
    [
        ("from=20&size=10", "offset", 20),  # Elasticsearch's window
        ("from=MjAyMy0wMy0xNCwxMzozNg%3D%3D&take=2", "cursor", "MjAyMy0wMy0xNCwxMzozNg=="),
    ],
)
def test_from_is_an_offset_when_a_number_and_a_cursor_otherwise(
    query: str, role: str, value: object
) -> None:
    how = paging.asked(dict(urllib.parse.parse_qsl(query)))
    assert how is not None and how.size in (10, 2)
    assert {"offset": how.offset, "cursor": how.cursor}[role] == value
    assert how.names[role] == "from"


def test_one_recording_is_enough_to_put_the_paths_id_in_the_answers_id(store: Store) -> None:
    record(store, get("/users/1"), 200, {"id": 1, "name": "Ada", "team": 1})
    answer = body(engine(store).match(get("/users/99")))
    # the id named by the path goes to `id`; the 1 in `team` is a coincidence and stays
    assert answer == {"id": 99, "name": "Ada", "team": 1}


def test_workers_sharing_a_state_file_see_the_objects_a_session_created(
    things: Store, tmp_path: Path
) -> None:
    first_state = open_state(str(tmp_path / "state.db"))
    second_state = open_state(str(tmp_path / "state.db"))
    try:
        first = Engine(things, state=first_state, fallback=Fallback)
        second = Engine(things, state=second_state, fallback=Fallback)
        new = body(first.match(send("POST", "/things", {"name": "stool", "price": 12}), "s1"))
        # the other worker: the object itself at once, and its collection's list
        assert body(second.match(get(f"/things/{new['id']}"), "s1")) == new
        time.sleep(LOOK_EVERY + 0.1)
        assert new in body(second.match(get("/things"), "s1"))["data"]
        deleted = second.match(send("DELETE", f"/things/{new['id']}", None), "s1")
        assert deleted.interaction is not None and deleted.interaction.response.status == 204
        gone = first.match(get(f"/things/{new['id']}"), "s1")
        assert gone.interaction is not None and gone.interaction.response.status == 404
    finally:
        first_state.close()
        second_state.close()


def test_a_graphql_query_is_a_read_and_keeps_the_ids_it_found(store: Store) -> None:
    document = "query Search($term: String!) { search(term: $term) { term items { id } } }"
    for term, ids in (("lamp", ["p1", "p2"]), ("desk", ["p3", "p4"])):
        sent = {"query": document, "variables": {"term": term}}
        found = {"data": {"search": {"term": term, "items": [{"id": i} for i in ids]}}}
        record(store, send("POST", "/graphql", sent), 200, found)
    match = engine(store).match(
        send("POST", "/graphql", {"query": document, "variables": {"term": "chair"}})
    )
    assert match.kind is MatchKind.FALLBACK
    search = body(match)["data"]["search"]
    assert search["term"] == "chair"
    # a query makes nothing: the items of the template stay as recorded, never new ids
    assert [i["id"] for i in search["items"]] in (["p1", "p2"], ["p3", "p4"])


def test_validation_holds_a_body_to_its_top_level_fields_and_types_only(store: Store) -> None:
    for n, name in enumerate(("ada", "bob"), start=1):
        order = {"customer": {"name": name, "vip": True}, "qty": n}
        record(store, send("POST", "/orders", order), 201, {"id": f"o_{n}x7k2p9", **order})
    e = engine(store)
    nested = e.match(send("POST", "/orders", {"customer": {"name": "cy"}, "qty": 3}))
    # two recordings say nothing about what a customer must hold: no refusal there
    assert nested.interaction is not None and nested.interaction.response.status == 201
    wrong = e.match(send("POST", "/orders", {"customer": {"name": "cy"}, "qty": "three"}))
    assert wrong.interaction is not None and wrong.interaction.response.status == 422
    assert body(wrong)["violations"][0]["pointer"] == "/qty"
    missing = e.match(send("POST", "/orders", {"qty": 3}))
    assert missing.interaction is not None and missing.interaction.response.status == 422


def test_one_body_recorded_twice_is_one_sample_and_holds_no_request_to_its_fields(
    store: Store,
) -> None:
    # GitHub's issue import, recorded twice with one body: nothing says `comments` is required
    sent = {"issue": {"title": "foo", "body": "bar"}, "comments": [{"body": "fake comments"}]}
    for n in (1, 2):
        record(store, send("POST", "/import/issues", sent), 202, {"id": n, "status": "pending"})
    e = engine(store)
    without = e.match(send("POST", "/import/issues", {"issue": {"title": "x", "body": "y"}}))
    assert without.kind is MatchKind.FALLBACK
    assert without.interaction is not None and without.interaction.response.status == 202
    # a second, different body makes two samples: a body without a field both sent is refused
    other = {"issue": {"title": "baz", "body": "qux"}, "comments": []}
    record(store, send("POST", "/import/issues", other), 202, {"id": 3, "status": "pending"})
    e.changed()
    refused = e.match(send("POST", "/import/issues", {"issue": {"title": "x", "body": "y"}}))
    assert refused.interaction is not None and refused.interaction.response.status == 422
    assert body(refused)["violations"][0]["rule"] == "required"


def test_between_two_shapes_equally_common_the_one_recorded_last_is_the_template(
    store: Store,
) -> None:
    # the API added fields between two recordings years apart: the answer follows the API as
    # it is now, even when the older recording's request is nearer to the one asked
    for when, title, shape in (
        ("2013-09-22T03:21:05Z", "Test issue creation", {}),
        ("2017-12-29T00:44:42Z", "Another issue", {"assignees": [], "locked": False}),
    ):
        request = send("POST", "/issues", {"title": title, "labels": []})
        answer = {"id": len(when), "title": title, "labels": [], **shape}
        response = Response(201, headers=JSON, body=orjson.dumps(answer))
        store.insert(Interaction(request, response, recorded_at=when), keys(request))
    asked = send("POST", "/issues", {"title": "Test issue creation!", "labels": []})
    match = engine(store).match(asked)
    assert match.kind is MatchKind.FALLBACK
    assert set(body(match)) == {"id", "title", "labels", "assignees", "locked"}
