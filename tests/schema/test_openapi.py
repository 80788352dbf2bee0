"""OpenAPI documents: the real OpenAI API description and a small 3.0 one, read as operations
with standalone JSON Schemas; bad documents refused with the file, the place and the rule."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from virt.errors import OpenApiError
from virt.schema.openapi import (
    MAX_DOCUMENT,
    OpenApi,
    documents,
    is_openapi,
    load_openapi,
    read_file,
)
from virt.store import Store

OPENAI = Path(__file__).parents[3] / "shared" / "openapi" / "openai" / "openapi.yaml"
PETSTORE = Path(__file__).parents[1] / "data" / "petstore-3.0.yaml"


@pytest.fixture(scope="module")
def openai() -> OpenApi:
    return load_openapi(OPENAI.read_bytes(), "openapi.yaml")


@pytest.fixture(scope="module")
def petstore() -> OpenApi:
    return load_openapi(PETSTORE.read_bytes(), "petstore-3.0.yaml")


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return own + [r for k, v in node.items() if k not in ("example", "enum") for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


# the OpenAI API (OpenAPI 3.1, 3 MB)


def test_the_openai_document_loads_with_every_operation(openai: OpenApi) -> None:
    assert (openai.title, openai.version) == ("OpenAI API", "2.3.0")
    ops = openai.operations()
    assert len(ops) > 200
    assert len({op.operation_id for op in ops}) == len(ops)
    assert openai.root["openapi"] == "3.1.0"


def test_openai_requests_find_their_operation_and_path_parameters(openai: OpenApi) -> None:
    op = openai.find("GET", "api.openai.com", "/v1/models/gpt-4o-mini")
    assert op is not None
    assert (op.operation_id, op.template, op.success) == (
        "retrieveModel",
        "/v1/models/{model}",
        200,
    )
    assert op.matches("/v1/models/gpt-4o-mini") == {"model": "gpt-4o-mini"}
    nested = openai.find("GET", "api.openai.com:443", "/v1/vector_stores/vs_1/files/file%2D9")
    assert nested is not None
    assert nested.matches("/v1/vector_stores/vs_1/files/file%2D9") == {
        "vector_store_id": "vs_1",
        "file_id": "file-9",
    }


def test_the_servers_base_path_and_host_decide_what_is_found(openai: OpenApi) -> None:
    assert openai.find("GET", "api.openai.com", "/models/gpt-4o") is None  # no /v1
    assert openai.find("GET", "api.example.com", "/v1/models/gpt-4o") is None  # another host
    assert openai.find("PATCH", "api.openai.com", "/v1/models/gpt-4o") is None  # no such method
    assert openai.find("GET", "API.OpenAI.com", "/v1/models/") is not None


def test_a_literal_segment_beats_a_templated_one(openai: OpenApi) -> None:
    runs = openai.find("POST", "api.openai.com", "/v1/threads/runs")
    thread = openai.find("POST", "api.openai.com", "/v1/threads/thread_abc")
    assert runs is not None and thread is not None
    assert runs.template == "/v1/threads/runs"
    assert thread.template == "/v1/threads/{thread_id}"


def test_openai_examples_come_from_the_media_type(openai: OpenApi) -> None:
    op = openai.find("POST", "api.openai.com", "/v1/responses")
    assert op is not None
    answer = op.responses[200]
    assert answer.content_type == "application/json"
    assert isinstance(answer.example, dict) and answer.example["object"] == "response"


def test_openai_schemas_are_standalone_2020_12_with_refs_resolved(openai: OpenApi) -> None:
    chat = openai.find("POST", "api.openai.com", "/v1/chat/completions")
    assert chat is not None and chat.request_schema is not None
    assert '"messages"' in json.dumps(chat.request_schema)  # stdlib: the document has ints > 2**64
    checked, seen = 0, set()
    for op in openai.operations():  # every schema handed out: it is the promise
        for schema in [op.request_schema, *(a.schema for a in op.responses.values())]:
            if schema is None:
                continue
            assert all(r.startswith("#/$defs/") for r in _refs(schema)), op.template
            checked += 1
            # many operations hand out the same schema (an error answer, say): checking its
            # text once against the metaschema checks every copy, in half the time
            text = json.dumps(schema, sort_keys=True)
            if text not in seen:
                seen.add(text)
                Draft202012Validator.check_schema(schema)
    assert checked > 400 and len(seen) > 200


def test_an_openai_answer_validates_against_its_schema(openai: OpenApi) -> None:
    op = openai.find("GET", "api.openai.com", "/v1/models/gpt-4o")
    assert op is not None
    schema = op.responses[200].schema
    assert schema is not None
    model = {"id": "gpt-4o", "object": "model", "created": 1686935002, "owned_by": "openai"}
    Draft202012Validator(schema).validate(model)
    with pytest.raises(ValidationError):
        Draft202012Validator(schema).validate({**model, "created": "yesterday"})


# a small 3.0 document


def test_servers_variables_give_the_base_path(petstore: OpenApi) -> None:
    op = petstore.find("GET", "petstore.example.com", "/api/v2/pets/12")
    assert op is not None and op.operation_id == "showPetById"
    assert op.template == "/api/v2/pets/{petId}"
    assert op.matches("/api/v2/pets/12") == {"petId": "12"}
    mine = petstore.find("GET", "petstore.example.com", "/api/v2/pets/mine")
    assert mine is not None and mine.operation_id == "listMyPets"
    file = petstore.find("GET", "petstore.example.com", "/api/v2/files/report%201.tar.gz")
    assert file is not None
    assert file.matches("/api/v2/files/report%201.tar.gz") == {"name": "report 1", "ext": "tar.gz"}


def test_nullable_becomes_a_type_list_and_null_in_the_enum(petstore: OpenApi) -> None:
    op = petstore.find("GET", "petstore.example.com", "/api/v2/pets/7")
    assert op is not None
    schema = op.responses[200].schema
    assert schema is not None
    Draft202012Validator.check_schema(schema)
    validator = Draft202012Validator(schema)
    validator.validate({"id": 7, "name": "Kitty", "tag": None, "status": None})
    validator.validate({"id": 7, "name": "Kitty", "tag": "cat", "status": "sold"})
    with pytest.raises(ValidationError):
        validator.validate({"id": 7, "name": None})
    with pytest.raises(ValidationError):
        validator.validate({"id": 7, "name": "Kitty", "status": "lost"})


def test_a_boolean_exclusive_minimum_becomes_the_numeric_form(petstore: OpenApi) -> None:
    op = petstore.find("POST", "petstore.example.com", "/api/v2/pets")
    assert op is not None and op.request_schema is not None
    price = op.request_schema["properties"]["price"]
    assert price == {"type": "number", "exclusiveMinimum": 0}
    Draft202012Validator(op.request_schema).validate({"name": "Rex", "price": 0.5})
    with pytest.raises(ValidationError):
        Draft202012Validator(op.request_schema).validate({"name": "Rex", "price": 0})


def test_a_recursive_schema_keeps_its_recursion_in_defs(petstore: OpenApi) -> None:
    op = petstore.find("GET", "petstore.example.com", "/api/v2/categories/toys")
    assert op is not None
    schema = op.responses[200].schema
    assert schema is not None
    assert set(schema["$defs"]) == {"Category"}
    Draft202012Validator.check_schema(schema)
    tree = {"name": "toys", "parent": {"name": "all", "parent": None}, "children": [{"name": "a"}]}
    Draft202012Validator(schema).validate(tree)
    with pytest.raises(ValidationError):
        Draft202012Validator(schema).validate({"name": "toys", "children": [{"parent": None}]})


def test_examples_from_media_examples_schema_and_referenced_responses(petstore: OpenApi) -> None:
    listing = petstore.find("GET", "petstore.example.com", "/api/v2/pets")
    assert listing is not None
    assert listing.responses[200].example["data"][1] == {"id": 2, "name": "Tom", "tag": "cat"}
    created = petstore.find("POST", "petstore.example.com", "/api/v2/pets")
    assert created is not None
    assert created.responses[200].example == {"id": 1, "name": "Rex"}  # the schema's own
    assert created.responses[422].example == {"code": 404, "message": "not found"}  # via $ref
    assert created.request_schema is not None and created.request_example is None


def test_response_ranges_default_and_headers(petstore: OpenApi) -> None:
    listing = petstore.find("GET", "petstore.example.com", "/api/v2/pets")
    assert listing is not None
    assert listing.responses[200].headers == (
        ("X-Next", "/api/v2/pets?after=3"),
        ("X-Rate-Limit", "100"),
    )
    assert listing.default is not None and listing.default.status == 0
    assert list(listing.responses) == [200]
    created = petstore.find("POST", "petstore.example.com", "/api/v2/pets")
    assert created is not None
    assert (list(created.responses), created.success) == ([200, 422], 200)  # 2XX stands for 200
    category = petstore.find("GET", "petstore.example.com", "/api/v2/categories/x")
    assert category is not None and category.success == 200  # only a default: it is the success
    deleted = petstore.find("DELETE", "petstore.example.com", "/api/v2/pets/1")
    assert deleted is not None and deleted.responses[204].content_type is None


def test_a_relative_server_matches_any_host() -> None:
    doc = (
        b'{"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "servers": [{"url": "/v1"}],'
    )
    doc += b' "paths": {"/ping": {"get": {"responses": {"204": {"description": "ok"}}}}}}'
    api = load_openapi(doc, "t.json")
    op = api.find("get", "127.0.0.1:8000", "/v1/ping")
    assert op is not None and op.template == "/v1/ping" and op.success == 204
    assert api.find("GET", "127.0.0.1:8000", "/ping") is None


# bad documents


def _refused(data: bytes, source: str = "api.yaml") -> OpenApiError:
    with pytest.raises(OpenApiError) as caught:
        load_openapi(data, source)
    return caught.value


def test_unparsable_yaml_names_the_file_line_and_column() -> None:
    error = _refused(b"openapi: 3.1.0\ninfo:\n  title: [unclosed\n  version: 1\n")
    assert str(error).startswith("api.yaml: line ")
    assert "column" in str(error) and "not valid YAML" in str(error)


def test_unparsable_json_names_the_file_line_and_column() -> None:
    error = _refused(b'{"openapi": "3.1.0",\n "info": }', "api.json")
    assert str(error).startswith("api.json: line 2, column ")
    assert "not valid JSON" in str(error)


def test_an_invalid_document_names_the_pointer_and_the_rule() -> None:
    doc = b"""openapi: 3.0.3
info: {title: T, version: '1'}
paths:
  /pets/{id}:
    get:
      responses:
        200:
          content: {application/json: {schema: {type: object}}}
"""
    error = _refused(doc)
    assert error.where == "/paths/~1pets~1{id}/get/responses/200"
    assert error.rule in ("oneOf", "required")
    assert str(error).startswith("api.yaml: not a valid OpenAPI document: at /paths/~1pets~1{id}")
    assert "\n" not in str(error) and "Traceback" not in str(error)


def test_a_missing_title_is_refused_by_the_required_rule() -> None:
    error = _refused(b'{"openapi": "3.1.0", "info": {"version": "1"}, "paths": {}}')
    assert (error.where, error.rule) == ("/info", "required")
    assert '"title" is a required property' in str(error)


def test_a_version_other_than_3_0_or_3_1_is_refused() -> None:
    error = _refused(b"openapi: 2.0.0\ninfo: {title: T, version: '1'}\npaths: {}\n")
    assert (error.where, error.rule) == ("/openapi", "openapi")
    swagger = _refused(b'{"swagger": "2.0", "info": {"title": "T", "version": "1"}}')
    assert swagger.where == "/openapi"
    assert "Swagger 2.0 is not read: convert it to OpenAPI 3 first" in str(swagger)


def test_a_ref_to_nothing_names_where_the_ref_is() -> None:
    doc = b"""openapi: 3.1.0
info: {title: T, version: '1'}
paths:
  /a:
    get:
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Missing'}
"""
    error = _refused(doc)
    assert error.where == "/paths/~1a/get/responses/200/content/application~1json/schema/$ref"
    assert error.rule == "$ref resolves"
    outside = _refused(doc.replace(b"#/components/schemas/Missing", b"other.yaml#/Pet"))
    assert outside.rule == "$ref within the document"


def test_a_duplicate_operation_id_is_refused() -> None:
    doc = b"""openapi: 3.1.0
info: {title: T, version: '1'}
paths:
  /a: {get: {operationId: same, responses: {'200': {description: ok}}}}
  /b: {get: {operationId: same, responses: {'200': {description: ok}}}}
"""
    error = _refused(doc)
    assert (error.where, error.rule) == ("/paths/~1b/get/operationId", "unique operationId")


def test_an_alias_bomb_and_deep_nesting_are_refused_while_reading() -> None:
    bomb = b"openapi: 3.1.0\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for i in range(1, 9):
        bomb += (
            f"{chr(97 + i)}: &{chr(97 + i)} [".encode()
            + b", ".join([f"*{chr(96 + i)}".encode()] * 10)
            + b"]\n"
        )
    assert "alias" in str(_refused(bomb))
    deep = b'{"openapi": "3.1.0", "x": ' + b"[" * 150 + b"]" * 150 + b"}"
    assert "deeper than" in str(_refused(deep, "deep.json"))


def test_a_document_past_the_size_limit_is_refused_unread(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    with big.open("wb") as f:
        f.truncate(MAX_DOCUMENT + 1)  # sparse: nothing is written
    with pytest.raises(OpenApiError, match=r"big.yaml: 32 MiB and 1 byte|is more than the 32 MiB"):
        read_file(big)
    assert "is more than the 32 MiB" in str(_refused(b" " * (MAX_DOCUMENT + 1)))


def test_is_openapi_looks_at_the_top_level_key() -> None:
    assert is_openapi(PETSTORE.read_bytes())
    assert is_openapi(b'{"openapi": "3.1.0", "info": {}}')
    assert is_openapi(b'{\n  "info": {"title": "T"},\n  "openapi": "3.0.0"}')
    assert is_openapi(b'"openapi": "3.1.0"\n"info": {"title": "T"}\n')  # YAML, keys quoted
    assert is_openapi(b"swagger: '2.0'\ninfo: {title: T}\n")  # refused by name, not skipped
    assert not is_openapi(b"interactions:\n- request: {uri: 'http://x/openapi: 3.1'}\n")
    assert not is_openapi(b'{"log": {"entries": []}}')


# documents(): stored ones and files


def test_documents_loads_stored_and_given_files_once_each(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "rec.db")
    try:
        store.add_document("openapi", "petstore-3.0.yaml", PETSTORE.read_bytes())
        copy = tmp_path / "same.yaml"
        copy.write_bytes(PETSTORE.read_bytes())
        other = tmp_path / "ping.json"
        other.write_bytes(
            b'{"openapi": "3.1.0", "info": {"title": "Ping", "version": "1"}, "paths": {}}'
        )
        loaded = documents(store, [copy, other])
        assert [d.title for d in loaded] == ["Petstore", "Ping"]
        assert loaded[0].source.endswith("rec.db: petstore-3.0.yaml")
        with pytest.raises(OpenApiError, match=r"missing\.yaml: cannot be read"):
            documents(store, [tmp_path / "missing.yaml"])
    finally:
        store.close()


def test_a_document_without_servers_is_served_at_the_root_of_any_host() -> None:
    doc = load_openapi(
        b'{"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "paths": {"/users/{id}":'
        b' {"get": {"responses": {"200": {"description": "ok"}}}}}}',
        "no-servers.json",
    )
    op = doc.find("GET", "api.example.com", "/users/7")
    assert op is not None and op.template == "/users/{id}"
    assert op.matches("/users/7") == {"id": "7"}
