"""A working CRUD flow nobody recorded, end to end: a real FastAPI service is recorded creating,
reading, listing and deleting two things, switched off, and a client of `virt serve` creates a
third with other values, reads it back, lists it and deletes it, in its own session; bodies
that break the recorded request shape get the API's own 422, else virt's."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.crudserver import create_app
from tests.e2e.fallback import assert_valid, inferred, is_fallback, last_entry, record, serve
from tests.helpers import free_port

WIDGET = {"name": "Widget", "price": 9.5}
GADGET = {"name": "Gadget", "price": 12.0}
NAMELESS = {"price": 3}


@dataclass
class Recorded:
    db: Path
    origin: str
    """The service's origin, as recorded: what clients of the proxy door ask for."""
    created: list[dict[str, Any]]
    listed: list[dict[str, Any]]
    not_found: dict[str, Any]
    invalid: dict[str, Any]
    """FastAPI's 422 for a thing without a name."""
    orders: list[dict[str, Any]]


def _drive(client: httpx.Client, origin: str) -> Recorded:
    created = []
    for new in (WIDGET, GADGET):
        resp = client.post(f"{origin}/things", json=new)
        assert resp.status_code == 201, resp.text
        created.append(resp.json())
    for thing in created:
        assert client.get(f"{origin}/things/{thing['id']}").json() == thing
    listed = client.get(f"{origin}/things").json()
    gone = created[0]["id"]
    assert client.delete(f"{origin}/things/{gone}").status_code == 204
    not_found = client.get(f"{origin}/things/{gone}")
    assert not_found.status_code == 404
    invalid = client.post(f"{origin}/things", json=NAMELESS)
    assert invalid.status_code == 422
    orders = []
    for quantity in (1, 4):
        resp = client.post(f"{origin}/orders", json={"thing_id": 2, "quantity": quantity})
        assert resp.status_code == 201, resp.text
        orders.append(resp.json())
    return Recorded(Path(), origin, created, listed, not_found.json(), invalid.json(), orders)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Recorded:
    db, rec = record(create_app(), tmp_path_factory.mktemp("crud"), confdir, _drive)
    rec.db = db
    assert rec.not_found == {"detail": "Not Found"}
    return rec


@pytest.fixture(scope="module")
def base(recorded: Recorded) -> Iterator[str]:
    with serve(recorded.db) as url:
        yield url


class Client:
    """A client of the replayed API in its own X-Virt-Session."""

    def __init__(self, base: str, session: str) -> None:
        self.http = httpx.Client(base_url=base, headers={"X-Virt-Session": session}, timeout=30)

    def create(self, thing: dict[str, Any]) -> httpx.Response:
        return self.http.post("/things", json=thing)

    def read(self, thing_id: Any) -> httpx.Response:
        return self.http.get(f"/things/{thing_id}")

    def listing(self) -> list[dict[str, Any]]:
        resp = self.http.get("/things")
        assert resp.status_code == 200, resp.text
        listed: list[dict[str, Any]] = resp.json()
        return listed

    def delete(self, thing_id: Any) -> httpx.Response:
        return self.http.delete(f"/things/{thing_id}")


def created_thing(client: Client, new: dict[str, Any], recorded: Recorded) -> dict[str, Any]:
    """Create `new` through the fallback; check the answer is a thing with `new`'s values."""
    resp = client.create(new)
    assert resp.status_code == 201, resp.text
    assert is_fallback(resp), resp.headers
    thing: dict[str, Any] = resp.json()
    assert_valid(inferred(recorded.created), thing)
    assert thing.keys() == recorded.created[0].keys()
    assert (thing["name"], thing["price"]) == (new["name"], new["price"])
    assert datetime.fromisoformat(thing["created_at"]).tzinfo is not None
    return thing


def is_not(resp: httpx.Response, thing: dict[str, Any]) -> bool:
    """Whether `resp` is anything but `thing`: a 404, or some other object of the route.

    A route with fallback answers an id nobody created in this session from its recordings
    (the way it answers a customer nobody fetched); what it must never do is show the object
    another session created, or one that was forgotten."""
    return resp.status_code == 404 or resp.json() != thing


def test_a_thing_created_with_other_values_is_read_listed_and_deleted(
    base: str, recorded: Recorded
) -> None:
    client = Client(base, "crud-flow")
    thing = created_thing(client, {"name": "Sprocket", "price": 3.25}, recorded)

    read = client.read(thing["id"])
    assert read.status_code == 200, read.text
    assert read.json() == thing

    listed = client.listing()
    assert thing in listed
    assert_valid(inferred([recorded.listed]), listed)

    deleted = client.delete(thing["id"])
    assert deleted.status_code == 204, deleted.text
    assert deleted.content == b""

    gone = client.read(thing["id"])
    assert gone.status_code == 404, gone.text
    assert gone.json() == recorded.not_found
    assert thing not in client.listing()


def test_each_thing_created_in_a_session_gets_an_id_of_its_own(
    base: str, recorded: Recorded
) -> None:
    # two creates that got one id would be one object: the second read of the first would
    # answer the second; and a recorded thing's id would put two things of one id in the list.
    # Twelve creates, so that ids drawn from too small a range cannot pass by luck; each body
    # twice, since a POST sent twice creates two things.
    client = Client(base, "crud-many")
    things = [
        created_thing(client, {"name": f"Part {n % 6}", "price": 1.0 + n % 6}, recorded)
        for n in range(12)
    ]
    ids = [t["id"] for t in things]
    assert not set(ids) & {t["id"] for t in recorded.created}, f"a recorded thing's id: {ids}"
    assert len(set(ids)) == len(ids), ids
    for thing in things:
        assert client.read(thing["id"]).json() == thing


def test_the_journal_says_which_request_values_a_created_thing_carries(
    base: str, recorded: Recorded
) -> None:
    client = Client(base, "crud-journal")
    created_thing(client, {"name": "Grommet", "price": 0.75}, recorded)
    entry = last_entry(base, "POST", "/things")
    assert entry["match"] == "fallback"
    fallback = entry["explain"]["fallback"]
    assert fallback["route"].startswith("POST http://127.0.0.1:")
    assert fallback["route"].endswith("/things")
    assert fallback["status"] == 201
    assert fallback["source"] == "template"
    assert fallback["template"] in _recorded_ids(base, "POST", "/things", 201)
    filled = " ".join(fallback["filled"])
    assert "name" in filled and "price" in filled, fallback["filled"]


def _recorded_ids(base: str, method: str, path: str, status: int) -> set[int]:
    """Ids of the recordings of `method` `path` that answered `status`."""
    params: dict[str, Any] = {"method": method, "path": path, "status": status, "limit": 500}
    page = httpx.get(f"{base}/__virt/interactions", params=params, timeout=30).json()
    return {i["id"] for i in page["items"]}


def test_two_sessions_never_see_each_others_things(base: str, recorded: Recorded) -> None:
    alice, bob = Client(base, "crud-alice"), Client(base, "crud-bob")
    hers = created_thing(alice, {"name": "Sprocket", "price": 3.25}, recorded)
    his = created_thing(bob, {"name": "Flange", "price": 8.0}, recorded)

    assert hers in alice.listing() and his not in alice.listing()
    assert his in bob.listing() and hers not in bob.listing()
    assert is_not(bob.read(hers["id"]), hers)
    assert is_not(alice.read(his["id"]), his)

    # bob deleting the id alice's thing has leaves alice's thing where it is
    bob.delete(hers["id"])
    assert alice.read(hers["id"]).json() == hers


def test_without_a_session_header_the_client_address_is_the_session(
    base: str, recorded: Recorded
) -> None:
    with httpx.Client(base_url=base, timeout=30) as plain:
        resp = plain.post("/things", json={"name": "Bracket", "price": 4.5})
        assert resp.status_code == 201, resp.text
        thing = resp.json()
        assert plain.get(f"/things/{thing['id']}").json() == thing
        assert thing in plain.get("/things").json()
    # a client with a session of its own is another client
    assert thing not in Client(base, "crud-elsewhere").listing()


def test_a_thing_created_through_the_proxy_door_is_read_back_and_listed_through_it(
    recorded: Recorded,
) -> None:
    proxy_port = free_port()
    with (
        serve(recorded.db, proxy_port=proxy_port),
        httpx.Client(
            proxy=f"http://127.0.0.1:{proxy_port}",
            headers={"X-Virt-Session": "crud-proxy"},
            timeout=30,
        ) as client,
    ):
        resp = client.post(f"{recorded.origin}/things", json={"name": "Hinge", "price": 2.5})
        assert resp.status_code == 201, resp.text
        assert is_fallback(resp), resp.headers
        thing = resp.json()
        assert (thing["name"], thing["price"]) == ("Hinge", 2.5)
        assert client.get(f"{recorded.origin}/things/{thing['id']}").json() == thing
        assert thing in client.get(f"{recorded.origin}/things").json()


def test_reset_forgets_what_sessions_created(recorded: Recorded) -> None:
    with serve(recorded.db) as url:
        client = Client(url, "crud-reset")
        thing = created_thing(client, {"name": "Sprocket", "price": 3.25}, recorded)
        assert client.read(thing["id"]).json() == thing
        assert httpx.post(f"{url}/__virt/reset").status_code in (200, 204)
        assert is_not(client.read(thing["id"]), thing)
        assert thing not in client.listing()


@pytest.mark.parametrize(
    "body",
    [{"name": "Sprocket", "price": "cheap"}, {"price": 7.25}],
    ids=["price-a-string", "name-missing"],
)
def test_a_thing_that_breaks_the_recorded_shape_gets_the_apis_own_422(
    base: str, recorded: Recorded, body: dict[str, Any]
) -> None:
    resp = Client(base, "crud-invalid").create(body)
    assert resp.status_code == 422, resp.text
    answer = resp.json()
    # the API's own shape: FastAPI's list of errors, each with type, loc, msg and input
    assert answer.keys() == recorded.invalid.keys()
    assert [e.keys() for e in answer["detail"]] == [e.keys() for e in recorded.invalid["detail"]]


@pytest.mark.parametrize(
    ("body", "pointer", "rule"),
    [
        ({"thing_id": 2, "quantity": "many"}, "/quantity", "type"),
        ({"quantity": 2}, "thing_id", "required"),
    ],
    ids=["quantity-a-string", "thing_id-missing"],
)
def test_an_order_that_breaks_the_recorded_shape_gets_a_422_naming_field_and_rule(
    base: str, body: dict[str, Any], pointer: str, rule: str
) -> None:
    resp = httpx.post(f"{base}/orders", json=body, timeout=30)
    assert resp.status_code == 422, resp.text
    assert resp.headers["content-type"].startswith("application/")
    assert "json" in resp.headers["content-type"]
    assert pointer in resp.text and rule in resp.text, resp.text


def test_a_valid_order_nobody_recorded_carries_its_quantity(base: str, recorded: Recorded) -> None:
    resp = httpx.post(f"{base}/orders", json={"thing_id": 2, "quantity": 7}, timeout=30)
    assert resp.status_code == 201, resp.text
    assert is_fallback(resp), resp.headers
    order = resp.json()
    assert_valid(inferred(recorded.orders), order)
    assert (order["thing_id"], order["quantity"], order["status"]) == (2, 7, "placed")
