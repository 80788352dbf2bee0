"""virt.schema.validate: violations name field and rule, in a stable order, never the value."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from tests.schema.samples import openai_chat
from virt.errors import SchemaError
from virt.schema.infer import infer, structural
from virt.schema.validate import Violation, is_valid, validator, violations

SECRET = "sk-live-4f9a0c12b7e4SECRET"

FILTERS = {
    "type": "object",
    "properties": {
        "filters": {
            "type": "object",
            "properties": {
                "min_price": {"type": "integer", "minimum": 0},
                "currency": {"type": "string", "enum": ["eur", "usd"]},
                "since": {"type": "string", "format": "date"},
                "code": {"type": "string", "pattern": "^[A-Z]{3}$", "maxLength": 3},
            },
            "required": ["min_price"],
        },
        "name": {"type": "string"},
    },
    "required": ["filters", "name"],
}


def test_violations_name_the_pointer_and_the_rule_and_never_the_value() -> None:
    found = violations(
        FILTERS,
        {
            "filters": {"min_price": SECRET, "currency": SECRET, "since": SECRET, "code": SECRET},
            "name": SECRET,
        },
    )
    assert [(v.pointer, v.rule) for v in found] == [
        ("/filters/code", "maxLength"),
        ("/filters/code", "pattern"),
        ("/filters/currency", "enum"),
        ("/filters/min_price", "type"),
        ("/filters/since", "format"),
    ]
    for v in found:
        assert SECRET not in v.message and SECRET not in repr(v)
        assert v.pointer in v.message
    assert found[3].message == "field /filters/min_price must be of type integer, not string"


def test_a_missing_required_field_is_named_by_its_own_pointer() -> None:
    found = violations(FILTERS, {"filters": {}})
    assert found == [
        Violation("/filters/min_price", "required", "field /filters/min_price is required"),
        Violation("/name", "required", "field /name is required"),
    ]


def test_violations_are_sorted_and_limited_the_same_way_every_time() -> None:
    schema = {"type": "array", "items": {"type": "integer"}}
    value = ["x"] * 30
    first = violations(schema, value, limit=5)
    assert [v.pointer for v in first] == ["/0", "/1", "/10", "/11", "/12"]
    assert violations(copy.deepcopy(schema), list(value), limit=5) == first
    assert violations(schema, [1, 2]) == []


def test_a_value_with_nothing_wrong_at_the_root_names_the_root() -> None:
    assert violations(FILTERS, []) == [
        Violation("", "type", "the value must be of type object, not array")
    ]


def test_an_alternative_names_the_field_inside_the_branch_that_got_furthest() -> None:
    nullable = {
        "anyOf": [
            {"type": "null"},
            {"type": "object", "properties": {"q": {"type": "integer"}}, "required": ["q"]},
        ]
    }
    assert violations(nullable, {"q": SECRET}) == [
        Violation("/q", "type", "field /q must be of type integer, not string")
    ]
    (v,) = violations(nullable, SECRET)
    assert (v.pointer, v.rule) == ("", "anyOf")
    assert SECRET not in v.message


def test_extra_properties_are_named_where_they_are_not_allowed() -> None:
    schema = {"type": "object", "properties": {"a": {}}, "additionalProperties": False}
    assert violations(schema, {"a": 1, "b": SECRET}) == [
        Violation("/b", "additionalProperties", "field /b is not allowed here")
    ]


def test_a_value_nested_too_deep_is_one_violation_not_a_recursion_error() -> None:
    recursive = {
        "$defs": {"n": {"type": "array", "items": {"$ref": "#/$defs/n"}}},
        "$ref": "#/$defs/n",
    }
    deep: Any = []
    for _ in range(5_000):
        deep = [deep]
    (v,) = violations(recursive, deep)
    assert (v.pointer, v.rule) == ("", "depth")
    assert not is_valid(recursive, deep)
    shallow: Any = [[[]]]
    assert is_valid(recursive, shallow)


def test_validators_are_built_once_per_schema_whatever_its_key_order() -> None:
    a = {"type": "object", "required": ["x"], "properties": {"x": {"type": "string"}}}
    b = {"properties": {"x": {"type": "string"}}, "required": ["x"], "type": "object"}
    assert validator(a) is validator(b)
    huge = {"type": "integer", "maximum": 2**70}  # a learned bound past 64 bits
    assert is_valid(huge, 2**69) and not is_valid(huge, 2**71)


def test_a_schema_that_is_not_one_is_a_schema_error_naming_the_rule() -> None:
    with pytest.raises(SchemaError, match=r"not a valid JSON Schema: at /properties/a/type"):
        validator({"properties": {"a": {"type": 5}}})


def test_recorded_requests_pass_and_a_body_without_its_model_is_refused_by_name() -> None:
    chat_requests, _ = openai_chat()
    shape = structural(infer(chat_requests))
    assert all(is_valid(shape, r) for r in chat_requests)
    new_values = {**chat_requests[0], "model": "gpt-9-unrecorded", "temperature": 0.123}
    assert violations(shape, new_values) == []
    broken = {k: v for k, v in chat_requests[0].items() if k != "model"}
    assert violations(shape, broken) == [
        Violation("/model", "required", "field /model is required")
    ]
    wrong = {**chat_requests[0], "messages": SECRET}
    (v,) = violations(shape, wrong)
    assert (v.pointer, v.rule) == ("/messages", "type")
    assert SECRET not in v.message


def test_the_same_schema_dict_finds_its_validator_without_serializing_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from virt.schema import validate as validate_module

    schema = {"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"]}
    first = validator(schema)

    def unused(_: dict[str, Any]) -> bytes:
        raise AssertionError("serialized a schema seen before")

    monkeypatch.setattr(validate_module, "_key", unused)
    assert validator(schema) is first
    assert not is_valid(schema, {"n": "x"})
    shape = structural(schema)
    assert structural(schema) is shape


def test_a_ref_that_points_at_nothing_is_a_schema_error() -> None:
    schema = {"type": "object", "properties": {"a": {"$ref": "#/components/schemas/A"}}}
    with pytest.raises(SchemaError, match="a \\$ref that points at nothing"):
        violations(schema, {"a": 1})
    with pytest.raises(SchemaError, match="a \\$ref that points at nothing"):
        is_valid(schema, {"a": 1})


def test_a_value_json_has_not_is_one_violation() -> None:
    (v,) = violations({"type": "object"}, {"token": b"secret bytes"})
    assert (v.pointer, v.rule) == ("", "type")
    assert "secret" not in v.message
