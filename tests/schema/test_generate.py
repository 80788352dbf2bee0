"""virt.schema.generate: valid, realistic values, the same for the same seed in any process."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from tests.formats.corpus import REPO
from tests.schema.samples import github_issues, openai_chat, openai_document
from tests.schema.test_infer import JSON
from virt.errors import SchemaError
from virt.schema import generate as generate_module
from virt.schema.generate import generate
from virt.schema.infer import FORMATS, infer
from virt.schema.validate import is_valid, violations

CUSTOMER = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "name": {"type": "string"},
        "email": {"type": "string", "format": "email"},
        "created_at": {"type": "string", "format": "date-time"},
        "city": {"type": "string"},
        "company": {"type": "string"},
        "phone": {"type": "string"},
        "website": {"type": "string", "format": "uri"},
        "description": {"type": "string"},
        "balance": {"type": "integer", "minimum": 0},
        "tags": {"type": "array", "items": {"type": "string"}},
        "nickname": {"type": ["string", "null"]},
    },
    "required": ["id", "name", "email", "created_at", "city", "company", "phone", "website"],
}


def _size(value: Any) -> int:
    stack, n = [value], 0
    while stack:
        item = stack.pop()
        n += 1
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return n


def test_same_seed_gives_equal_values_and_other_seeds_usually_differ() -> None:
    schema = infer(github_issues())
    first = generate(schema, b"GET /repos/a/b/issues?page=3")
    assert generate(schema, b"GET /repos/a/b/issues?page=3") == first
    others = [generate(schema, b"seed %d" % i) for i in range(8)]
    assert sum(other != first for other in others) >= 7
    assert len({orjson.dumps(o, option=orjson.OPT_SORT_KEYS) for o in others}) >= 7


def test_same_value_in_a_fresh_process_whatever_its_hash_seed() -> None:
    """Byte-identical across processes: seeds come from sha256, never from hash()."""
    code = (
        "import orjson, sys\n"
        "from virt.schema.generate import generate\n"
        "schema = orjson.loads(sys.stdin.buffer.read())\n"
        "sys.stdout.buffer.write(orjson.dumps(generate(schema, b'one request')))\n"
    )
    schema = orjson.dumps(CUSTOMER)
    outputs = set()
    for hash_seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        done = subprocess.run(
            [sys.executable, "-c", code],
            input=schema,
            capture_output=True,
            env=env,
            cwd=REPO,
            check=True,
            timeout=60,
        )
        outputs.add(done.stdout)
    assert outputs == {orjson.dumps(generate(CUSTOMER, b"one request"))}


def test_values_look_real_for_what_their_fields_are_called() -> None:
    value = generate(CUSTOMER, b"customer 7")
    assert value["id"].startswith("id_") and len(value["id"]) == 15
    first, _, last = value["name"].partition(" ")
    assert first.istitle() and last[:1].isupper()
    assert "@" in value["email"] and value["email"].count("@") == 1
    assert FORMATS["date-time"](value["created_at"]) and value["created_at"] < "2026"
    assert value["website"].startswith("http")
    assert value["city"] and value["company"] and any(c.isdigit() for c in value["phone"])
    assert "string" not in orjson.dumps(value).decode()
    described = generate({"type": "string"}, b"x", name="description")
    assert described.endswith(".") and " " in described
    assert isinstance(generate({"type": "integer"}, b"x", name="created_at"), int)
    assert is_valid(CUSTOMER, value)


def test_required_properties_always_and_optional_ones_by_seed() -> None:
    values = [generate(CUSTOMER, b"%d" % i) for i in range(20)]
    for value in values:
        assert set(CUSTOMER["required"]) <= set(value)
    for optional in ("description", "balance", "tags", "nickname"):
        assert any(optional in v for v in values) and any(optional not in v for v in values)
    assert all(v.get("nickname", "") is not None for v in values)  # the non-null type first


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "items": {"type": "integer"}, "minItems": 5, "maxItems": 6},
        {"type": "array", "items": {"type": "string"}, "maxItems": 0},
        {"type": "array", "items": {"enum": [1, 2, 3]}, "minItems": 3, "uniqueItems": True},
        {"type": "string", "minLength": 40, "maxLength": 41},
        {"type": "string", "maxLength": 2},
        {"type": "string", "format": "email", "maxLength": 8},
        {"type": "string", "format": "ipv4", "minLength": 15},
        {"type": "string", "pattern": "^tunnel_[a-z0-9]{32}$"},
        {"type": "string", "pattern": "^[A-Za-z0-9_.-]+$"},
        {"type": "integer", "minimum": 10, "maximum": 12},
        {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2},
        {"type": "integer", "multipleOf": 7, "minimum": 100},
        {"type": "number", "minimum": 0.001, "maximum": 0.002},
        {"type": "number", "minimum": -1e308, "maximum": 1e308},
        {"type": "number", "multipleOf": 0.5},
        {"enum": ["eur", "usd", None]},
        {"const": {"object": "list"}},
        {"type": ["null", "boolean"]},
        {"type": "object", "minProperties": 2, "additionalProperties": {"type": "integer"}},
        {"type": "object", "properties": {"a": {}, "b": {}}, "maxProperties": 1},
        {
            "allOf": [
                {"required": ["a"]},
                {"properties": {"b": {"type": "integer"}}, "required": ["b"]},
            ]
        },
        {"oneOf": [{"type": "string", "enum": ["auto"]}, {"type": "string"}]},
        {"anyOf": [{"type": "integer", "minimum": 5}, {"type": "null"}]},
        {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {}},
            "not": {"required": ["a", "b"]},
        },
        *({"type": "string", "format": fmt} for fmt in FORMATS),
    ],
)
def test_generated_values_keep_every_bound(schema: dict[str, Any]) -> None:
    for seed in (b"a", b"b", b"c", b"d"):
        value = generate(schema, seed)
        assert violations(schema, value) == [], value
        if "format" in schema and "maxLength" not in schema and "minLength" not in schema:
            assert FORMATS[schema["format"]](value), value


def test_examples_in_the_schema_come_first_when_they_are_valid() -> None:
    assert generate({"type": "string", "examples": ["gpt-4o"]}, b"x") == "gpt-4o"
    assert generate({"type": "integer", "example": 3, "default": 4}, b"x") == 3
    assert generate({"type": "integer", "default": 4}, b"x") == 4
    wrong = generate({"type": "integer", "minimum": 10, "example": 3}, b"x")
    assert isinstance(wrong, int) and wrong >= 10


def test_a_recursive_schema_stops_with_null_an_empty_array_or_an_omitted_property() -> None:
    tree = {
        "$ref": "#/$defs/node",
        "$defs": {
            "node": {
                "type": "object",
                "properties": {
                    "value": {"type": "integer"},
                    "children": {"type": "array", "items": {"$ref": "#/$defs/node"}},
                    "parent": {"anyOf": [{"$ref": "#/$defs/node"}, {"type": "null"}]},
                    "next": {"$ref": "#/$defs/node"},
                },
                "required": ["value", "children", "parent"],
            }
        },
    }
    for seed in (b"1", b"2", b"3"):
        value = generate(tree, seed)
        assert is_valid(tree, value)
        assert _size(value) < 200


def test_a_schema_that_must_recurse_forever_is_a_schema_error_naming_where() -> None:
    endless = {
        "$ref": "#/$defs/link",
        "$defs": {
            "link": {
                "type": "object",
                "properties": {"next": {"$ref": "#/$defs/link"}},
                "required": ["next"],
            }
        },
    }
    with pytest.raises(SchemaError) as caught:
        generate(endless, b"x")
    message = str(caught.value)
    assert message.startswith("cannot generate a value at /next/next/next")
    assert "#/$defs/link" in message


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "array", "minItems": 10**6},
        {"type": "string", "minLength": 10**9},
        {"type": "integer", "minimum": 5, "maximum": 1},
        {"type": "integer", "minimum": 0.2, "maximum": 0.8},
        {"$ref": "#/nowhere"},
        {"$ref": "https://example.com/schema.json"},
        {
            "type": "array",
            "items": {
                "type": "array",
                "minItems": 50,
                "items": {
                    "type": "array",
                    "minItems": 50,
                    "items": {"type": "string", "minLength": 1000},
                },
            },
            "minItems": 50,
        },
    ],
)
def test_a_schema_that_cannot_be_satisfied_within_bounds_is_a_schema_error(
    schema: dict[str, Any],
) -> None:
    with pytest.raises(SchemaError, match=r"^cannot generate a value at "):
        generate(schema, b"x")


def test_a_wide_schema_cannot_make_a_huge_value() -> None:
    """Six levels of 20 optional arrays of objects: 20**6 values if nothing stopped it."""
    levels: dict[str, Any] = {"level6": {"type": "string"}}
    for n in range(6):
        fields = {
            f"f{i}": {"type": "array", "items": {"$ref": f"#/$defs/level{n + 1}"}}
            for i in range(20)
        }
        levels[f"level{n}"] = {"type": "object", "properties": fields}
    wide = {"$ref": "#/$defs/level0", "$defs": levels}
    value = generate(wide, b"x")
    assert generate_module.MAX_NODES < _size(value) <= 4 * generate_module.MAX_NODES
    assert is_valid(wide, value)


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(JSON, min_size=1, max_size=6), st.binary(max_size=8))
def test_values_generated_from_inferred_schemas_are_valid(samples: list[Any], seed: bytes) -> None:
    schema = infer(samples)
    value = generate(schema, seed)
    assert violations(schema, value) == [], value


def test_values_generated_from_recorded_api_bodies_are_valid() -> None:
    chat_requests, chat_responses = openai_chat()
    for samples in (github_issues(), chat_requests, chat_responses):
        schema = infer(samples)
        for seed in (b"1", b"2", b"3"):
            assert violations(schema, generate(schema, seed)) == []


def test_every_openai_component_schema_generates_valid_values() -> None:
    """1,400 real schemas: $refs, allOf/oneOf/anyOf, discriminators, recursion, examples."""
    doc = openai_document()
    checker = Draft202012Validator(doc, format_checker=Draft202012Validator.FORMAT_CHECKER)
    failures = []
    for name in doc["components"]["schemas"]:
        ref = {"$ref": f"#/components/schemas/{name}"}
        for seed in (b"1", b"2"):
            value = generate(ref, seed, root=doc)
            error = next(checker.evolve(schema=ref).iter_errors(value), None)
            if error is not None:
                failures.append(f"{name}: {error.validator} at {list(error.absolute_path)}")
    assert failures == []


def test_made_up_values_stay_inside_the_ranges_recorded() -> None:
    schema = infer([{"count": 3, "code": "abcd"}, {"count": 9, "code": "abcdefgh"}])
    for i in range(20):
        value = generate(schema, b"%d" % i)
        assert 3 <= value["count"] <= 9
        assert 4 <= len(value["code"]) <= 8
    # a range recorded outside what the schema allows gives way to the schema
    clash = {"type": "integer", "minimum": 100, "x-seen": {"minimum": 1, "maximum": 4}}
    assert generate(clash, b"x") >= 100


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "number", "minimum": -(10**400), "maximum": 10**400},
        {"type": "number", "minimum": 10**400},
        {"type": "number", "multipleOf": 1e-300, "minimum": 1e300},
        {"type": "object", "required": "name", "properties": {"name": {"type": "string"}}},
        {"type": "file"},
        {"type": "integer", "minimum": "5"},
    ],
)
def test_a_schema_with_odd_keywords_gives_a_value_or_a_schema_error_never_a_crash(
    schema: dict[str, Any],
) -> None:
    try:
        generate(schema, b"x")
    except SchemaError as e:
        assert str(e).startswith("cannot generate a value")
