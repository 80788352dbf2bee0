"""The fallback stage with an imported OpenAPI document (OpenAI's own, 3.1): endpoints nobody
recorded answered from its examples and schemas, request bodies checked against it, and a
recording still coming first."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.helpers import require_openapi
from virt.match.engine import Engine, MatchKind
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.schema.fallback import Fallback
from virt.schema.openapi import OpenApi, documents
from virt.schema.validate import is_valid
from virt.state import SessionState
from virt.store import Store

HOST = "api.openai.com"


@pytest.fixture(scope="module")
def openai_document() -> bytes:
    return (require_openapi() / "openai" / "openapi.yaml").read_bytes()


@pytest.fixture
def store(tmp_path: Path, openai_document: bytes) -> Iterator[Store]:
    _loaded.clear()
    s = Store.open(tmp_path / "rec.db")
    s.add_document("openapi", "openapi.yaml", openai_document)
    yield s
    s.close()


_loaded: dict[Path, list[OpenApi]] = {}


def engine(store: Store) -> Engine:
    """An engine whose fallback stage has the store's documents (loaded once per store)."""
    if store.path not in _loaded:
        _loaded[store.path] = documents(store, ())

    def make(s: Store, state: SessionState) -> Fallback:
        return Fallback(s, state, _loaded[store.path])

    return Engine(store, fallback=make)


def request(method: str, path: str, body: Any = None) -> Request:
    if body is None:
        return Request(method, "https", HOST, 443, path)
    headers = (("Content-Type", "application/json"),)
    return Request(method, "https", HOST, 443, path, headers=headers, body=orjson.dumps(body))


def test_an_endpoint_nobody_recorded_is_answered_with_the_documents_example(store: Store) -> None:
    e = engine(store)
    match = e.match(request("GET", "/v1/responses/resp_67ccd2bed1ec8190b14f964abc054267"))
    assert match.kind is MatchKind.FALLBACK
    assert match.header_value == "fallback;source=openapi"
    assert match.interaction is not None and match.interaction.response.status == 200
    answer = orjson.loads(match.interaction.response.body)
    assert answer["object"] == "response"  # OpenAI's own example of a response object
    assert match.explain()["fallback"]["example"] is True


def test_without_an_example_the_answer_is_generated_from_the_schema(store: Store) -> None:
    e = engine(store)
    match = e.match(request("GET", "/v1/assistants/asst_abc123"))
    assert match.header_value == "fallback;source=openapi"
    assert match.interaction is not None
    answer = orjson.loads(match.interaction.response.body)
    document = _loaded[store.path][0]
    operation = document.find("GET", HOST, "/v1/assistants/asst_abc123")
    assert operation is not None and operation.success is not None
    schema = operation.responses[operation.success].schema
    assert schema is not None and is_valid(schema, answer)
    again = engine(store).match(request("GET", "/v1/assistants/asst_abc123"))
    assert again.interaction is not None
    assert again.interaction.response.body == match.interaction.response.body


def test_a_body_the_document_refuses_is_a_422_naming_the_field(store: Store) -> None:
    match = engine(store).match(request("POST", "/v1/embeddings", {"input": "hello"}))
    assert match.interaction is not None and match.interaction.response.status == 422
    report = orjson.loads(match.interaction.response.body)
    assert any("model" in v["message"] and v["rule"] == "required" for v in report["violations"])


def test_a_recorded_route_comes_before_the_document(store: Store) -> None:
    recorded = request("GET", "/v1/files/file-abc123def456ghi7")
    file = {"id": "file-abc123def456ghi7", "object": "file", "bytes": 120, "purpose": "batch"}
    response = Response(
        200, headers=(("Content-Type", "application/json"),), body=orjson.dumps(file)
    )
    store.insert(Interaction(recorded, response), keys(recorded))
    e = engine(store)
    assert e.match(recorded).kind is MatchKind.EXACT
    other = e.match(request("GET", "/v1/files/file-xyz789uvw012rst3"))
    # the route was recorded: its recording is the template, with the id asked for
    assert other.header_value == "fallback;source=template"
    assert other.interaction is not None
    assert orjson.loads(other.interaction.response.body) == {**file, "id": "file-xyz789uvw012rst3"}


def test_a_path_nobody_recorded_or_documented_stays_a_miss(store: Store) -> None:
    assert engine(store).match(request("GET", "/v2/nothing/here")).kind is MatchKind.MISS
