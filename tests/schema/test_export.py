"""The OpenAPI 3.1 document of what the recordings taught: parameters named and typed, the same
operation on two origins written once, examples bounded, one sample requiring nothing, and
the document valid for openapi-spec-validator and for virt's own reader."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from openapi_spec_validator import validate

from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.schema import export
from virt.schema.book import RouteBook
from virt.schema.export import dump, learned_openapi
from virt.schema.openapi import load_openapi
from virt.schema.routes import find
from virt.store import Store

JSON = (("Content-Type", "application/json"),)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "api.db")
    yield s
    s.close()


def record(
    store: Store,
    method: str,
    url_path: str,
    answer: Any,
    *,
    status: int = 200,
    host: str = "api.example.com",
    sent: Any = None,
    query: str = "",
) -> None:
    body = b"" if sent is None else orjson.dumps(sent)
    request = Request(
        method,
        "https",
        host,
        443,
        url_path,
        query=query,
        headers=(*JSON, ("Authorization", "Bearer sk_live_hidden")) if sent else (),
        body=body,
    )
    data = answer if isinstance(answer, bytes) else orjson.dumps(answer)
    headers = JSON if not isinstance(answer, bytes) else (("Content-Type", "image/png"),)
    store.insert(Interaction(request, Response(status, headers=headers, body=data)), keys(request))


def learned(store: Store) -> dict[str, Any]:
    document = learned_openapi(RouteBook(store), find(store).routes, "api").document
    validate(document)
    load_openapi(dump(document), "api.yaml")  # virt reads back what it writes
    return document


def test_templated_segments_become_named_typed_path_parameters(store: Store) -> None:
    for user, key in (
        (1, "0b8e3c4e-3b0a-4a63-8d1e-0f7d9a9f3a11"),
        (2, "5d2c7e1a-9f4b-4c1e-b7a2-3e6f8d0c9b22"),
    ):
        record(store, "GET", f"/users/{user}/keys/{key}", {"user": user, "key": key})
    document = learned(store)
    (path,) = document["paths"]
    assert path == "/users/{id}/keys/{id2}"
    parameters = document["paths"][path]["get"]["parameters"]
    assert parameters == [
        {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
        {
            "name": "id2",
            "in": "path",
            "required": True,
            "schema": {"type": "string", "format": "uuid"},
        },
    ]
    # recorded values are no example of the path: a path may hold a token
    assert "0b8e3c4e" not in dump(document["paths"][path]["get"]["parameters"]).decode()


def test_learned_segments_are_named_params_and_literal_braces_escaped() -> None:
    assert export._path("/users/{}/x") == ("/users/{param1}/x", ["param1"])
    assert export._path("/a/{id}/b/{}/c/{id}") == (
        "/a/{id}/b/{param1}/c/{id2}",
        ["id", "param1", "id2"],
    )
    assert export._path("/t/{literal}")[0] == "/t/%7Bliteral%7D"
    assert export._path("*") == (None, [])


def test_one_recording_requires_no_field_of_the_request_body_or_query(store: Store) -> None:
    record(store, "POST", "/charges", {"id": "ch_1"}, status=201, sent={"amount": 5, "memo": "x"})
    record(store, "GET", "/charges", [{"id": "ch_1"}], query="limit=3")
    paths = learned(store)["paths"]["/charges"]
    body = paths["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body["properties"]["amount"] == {"type": "integer"}  # the shape, not the values
    assert "required" not in body
    (limit,) = paths["get"]["parameters"]
    assert (limit["name"], limit["in"], limit["required"]) == ("limit", "query", False)


def test_two_recordings_make_fields_sent_by_both_required(store: Store) -> None:
    record(store, "POST", "/charges", {"id": "ch_1"}, status=201, sent={"amount": 5, "memo": "x"})
    record(store, "POST", "/charges", {"id": "ch_2"}, status=201, sent={"amount": 7})
    post = learned(store)["paths"]["/charges"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"]["required"] == ["amount"]
    assert "sk_live_hidden" not in dump(post).decode()  # request headers are never copied


def test_each_recorded_status_is_a_response_with_its_schema_and_one_example(
    store: Store,
) -> None:
    record(store, "GET", "/items/1", {"id": 1, "name": "a"})
    record(store, "GET", "/items/2", {"id": 2, "name": "b"})
    record(store, "GET", "/items/3", {"error": "not found"}, status=404)
    responses = learned(store)["paths"]["/items/{id}"]["get"]["responses"]
    assert list(responses) == ["200", "404"]
    ok = responses["200"]["content"]["application/json"]
    assert ok["example"] == {"id": 1, "name": "a"}
    assert ok["schema"]["required"] == ["id", "name"] and "$schema" not in ok["schema"]
    assert responses["404"]["description"].startswith("Not Found")


def test_a_route_of_bytes_is_listed_apart_and_gets_no_operation(store: Store) -> None:
    record(store, "GET", "/avatars/1", b"\x89PNG\r\n\x1a\n")
    record(store, "GET", "/items/1", {"id": 1})
    document = learned(store)
    assert list(document["paths"]) == ["/items/{id}"]
    (opaque,) = document["x-virt-opaque"]
    assert opaque["route"] == "GET https://api.example.com:443/avatars/{id}"
    assert "not JSON" in opaque["why"]


def test_one_operation_on_two_origins_is_written_once_naming_both(store: Store) -> None:
    record(store, "GET", "/status", {"ok": True}, host="eu.example.com")
    record(store, "GET", "/status", {"ok": True}, host="us.example.com")
    record(store, "GET", "/status", {"ok": False}, host="us.example.com")
    record(store, "GET", "/only-eu", {"ok": True}, host="eu.example.com")
    document = learned(store)
    assert [s["url"] for s in document["servers"]] == [
        "https://eu.example.com",
        "https://us.example.com",
    ]
    status = document["paths"]["/status"]
    assert [s["url"] for s in status["servers"]] == [
        "https://eu.example.com",
        "https://us.example.com",
    ]
    get = status["get"]
    assert get["x-virt-route"] == "GET https://us.example.com:443/status"  # recorded more
    assert "eu.example.com" in get["description"]
    assert get["operationId"] == "get_status"
    assert document["paths"]["/only-eu"]["servers"] == [{"url": "https://eu.example.com"}]


def test_examples_past_the_size_bounds_are_left_out(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export, "EXAMPLES_TOTAL", 300)
    record(store, "GET", "/big", {"text": "x" * (export.EXAMPLE_MAX + 1)})
    for name in ("a", "b", "c"):
        record(store, "GET", f"/small/{name}x", {"text": name * 100})
    made = learned_openapi(RouteBook(store), find(store).routes, "api")
    examples = [
        "example" in op["responses"]["200"]["content"]["application/json"]
        for item in made.document["paths"].values()
        for op in item.values()
    ]
    assert examples.count(True) == 2 and made.examples_omitted == 2
    validate(made.document)


def test_the_same_recordings_give_the_same_bytes(store: Store) -> None:
    record(store, "POST", "/charges", {"id": "ch_1"}, status=201, sent={"amount": 5})
    record(store, "GET", "/items/1", {"id": 1})
    first = dump(learned(store))
    assert dump(learned(store)) == first
    assert dump(learned(store), as_json=True).startswith(b'{\n  "openapi": "3.1.0"')


def test_an_ipv6_origin_is_a_server_url_with_brackets(store: Store) -> None:
    record(store, "GET", "/items/1", {"id": 1}, host="::1")
    record(store, "GET", "/items/1", {"id": 1}, host="fe80::2")
    document = learned(store)
    assert [s["url"] for s in document["servers"]] == ["https://[::1]", "https://[fe80::2]"]


def test_a_form_body_is_documented_as_a_form(store: Store) -> None:
    for amount in (2500, 4200):
        request = Request(
            "POST",
            "https",
            "api.example.com",
            443,
            "/v1/charges",
            headers=(("Content-Type", "application/x-www-form-urlencoded"),),
            body=f"amount={amount}&currency=usd&metadata[order]=7".encode(),
        )
        answer = Response(200, headers=JSON, body=orjson.dumps({"id": "ch_1", "amount": amount}))
        store.insert(Interaction(request, answer), keys(request))
    body = learned(store)["paths"]["/v1/charges"]["post"]["requestBody"]
    schema = body["content"]["application/x-www-form-urlencoded"]["schema"]
    assert set(schema["properties"]) == {"amount", "currency", "metadata[order]"}
    assert schema["properties"]["amount"] == {"type": "string"}
    assert sorted(schema["required"]) == ["amount", "currency", "metadata[order]"]


def test_a_route_whose_schema_cannot_be_worked_out_is_skipped_naming_why(store: Store) -> None:
    record(store, "GET", "/huge", [0] * 500_001)  # more values than a schema is inferred from
    record(store, "GET", "/items/1", {"id": 1})
    made = learned_openapi(RouteBook(store), find(store).routes, "api")
    assert list(made.document["paths"]) == ["/items/{id}"]
    (skipped,) = made.document["x-virt-skipped"]
    assert skipped["route"] == "GET https://api.example.com:443/huge"
    assert "cannot be worked out" in skipped["why"] and "500,000 values" in skipped["why"]
    assert made.skipped == [f"{skipped['route']}: {skipped['why']}"]
    validate(made.document)
