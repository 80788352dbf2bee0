"""virt.schema.infer: schemas from recorded JSON describe every sample, and no more than that."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.schema.samples import github_issues, octokit_routes, openai_chat
from virt.errors import SchemaError
from virt.schema import infer as infer_module
from virt.schema.infer import DIALECT, MAX_DEPTH, infer, query_schema, structural
from virt.schema.validate import is_valid, violations

VALUE_KEYWORDS = {
    "enum",
    "const",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "format",
    "pattern",
}


def _groups() -> list[Any]:
    chat_requests, chat_responses = openai_chat()
    cases = [pytest.param(bodies, id=route) for route, bodies in octokit_routes().items()]
    cases.append(pytest.param(github_issues(), id="github-issues"))
    cases.append(pytest.param(chat_requests, id="openai-chat-requests"))
    cases.append(pytest.param(chat_responses, id="openai-chat-responses"))
    return cases


def _walk(schema: Any, name: str = "") -> list[tuple[str, dict[str, Any]]]:
    """Every subschema with the name of the property it describes."""
    found: list[tuple[str, dict[str, Any]]] = []
    stack = [(name, schema)]
    while stack:
        at, node = stack.pop()
        if not isinstance(node, dict):
            continue
        found.append((at, node))
        stack.extend((k, v) for k, v in node.get("properties", {}).items())
        stack.extend((at, v) for v in node.get("anyOf", []))
        if isinstance(node.get("items"), dict):
            stack.append((at, node["items"]))
        if isinstance(node.get("additionalProperties"), dict):
            stack.append((at, node["additionalProperties"]))
    return found


@pytest.mark.parametrize("samples", _groups())
def test_schema_describes_every_recorded_sample(samples: list[Any]) -> None:
    schema = infer(samples)
    assert schema["$schema"] == DIALECT
    for sample in samples:
        assert violations(schema, sample) == []


def test_a_key_in_every_sample_is_required_and_one_missing_somewhere_is_not() -> None:
    _, responses = openai_chat()
    schema = infer(responses)
    everywhere = set.intersection(*(set(r) for r in responses))
    somewhere = set.union(*(set(r) for r in responses))
    assert set(schema["required"]) == everywhere
    assert somewhere - everywhere, "the recordings should have an optional key to test"
    assert set(schema["properties"]) == somewhere


def test_null_beside_a_value_makes_the_field_nullable() -> None:
    _, responses = openai_chat()
    messages = [choice["message"] for body in responses for choice in body["choices"]]
    schema = infer(responses)["properties"]["choices"]["items"]["properties"]["message"]
    mixed = [
        key
        for key in sorted(set().union(*messages))
        if any(key in m and m[key] is None for m in messages)
        and any(m.get(key) is not None for m in messages)
    ]
    assert "content" in mixed, "a tool call's message has no content: null beside text"
    for key in mixed:
        assert "null" in schema["properties"][key]["type"], key
    assert infer([{"a": None}, {"a": "x"}])["properties"]["a"]["type"] == ["string", "null"]
    assert infer([None, 3, 4])["type"] == ["integer", "null"]
    assert infer(["open", None, "open", "open", "open"])["enum"] == ["open", None]


def test_enum_rule_refuses_ids_names_and_values_seen_once() -> None:
    schema = infer(github_issues())
    for name, sub in _walk(schema):
        if "enum" in sub:
            assert not infer_module._is_identity(name), name
            assert len([v for v in sub["enum"] if v is not None]) <= 5
    props = schema["properties"]
    for field in ("node_id", "title", "url", "html_url"):
        assert "enum" not in props[field], field
    assert "enum" not in props["user"]["properties"]["login"]
    assert props["user"]["properties"]["type"]["enum"] == ["User"]
    _, responses = openai_chat()
    chat = infer(responses)["properties"]
    assert chat["object"]["enum"] == ["chat.completion"]
    assert "enum" not in chat["id"]
    assert "enum" not in chat["system_fingerprint"]
    # twice each, but named as ids
    ids = [{"customer_id": v} for v in ("cus_a", "cus_b") * 3]
    assert "enum" not in infer(ids)["properties"]["customer_id"]
    # every value distinct: no evidence of a closed set
    assert "enum" not in infer([{"status": f"s{i}"} for i in range(10)])["properties"]["status"]
    # one value seen once among repeated ones: the set may be open
    seen = ["open", "open", "closed", "closed", "merged"]
    assert "enum" not in infer([{"status": v} for v in seen])["properties"]["status"]
    closed = ["open", "open", "closed", "closed", "open"]
    assert infer([{"status": v} for v in closed])["properties"]["status"]["enum"] == [
        "closed",
        "open",
    ]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["3f2b9c1e-8a4d-4f6b-9c2a-1b2c3d4e5f60", "00000000-0000-4000-8000-000000000000"], "uuid"),
        (["2024-01-02T03:04:05Z", "2011-04-14T16:00:49.123+02:00"], "date-time"),
        (["2024-01-02", "1999-12-31"], "date"),
        (["octocat@github.com", "a.b+c@example.co.uk"], "email"),
        (["https://api.github.com/repos/a/b", "http://localhost:8000/x?y=1"], "uri"),
        (["192.168.0.1", "8.8.8.8"], "ipv4"),
        (["2024-01-02", "not a date"], None),
        (["2024-02-30", "2024-01-01"], None),
        (["https://api.github.com/repos/a/b/issues{/number}"], None),
        (["999.1.1.1"], None),
    ],
)
def test_format_is_inferred_only_when_every_string_matches(
    values: list[str], expected: str | None
) -> None:
    schema = infer(values)
    assert schema.get("format") == expected
    assert all(is_valid(schema, v) for v in values)


def test_recorded_timestamps_and_links_get_their_formats() -> None:
    props = infer(github_issues())["properties"]
    assert props["created_at"]["format"] == "date-time"
    assert props["url"]["format"] == "uri"
    assert "format" not in props["labels_url"]  # "…/labels{/name}" is a template, not a URI


def test_integers_and_numbers_are_kept_apart_with_the_range_seen() -> None:
    integers = infer([1, 2, 7])
    assert integers == {
        "$schema": DIALECT,
        "type": "integer",
        "x-seen": {"minimum": 1, "maximum": 7},
    }
    assert infer([1, 1.5])["type"] == "number"
    assert infer([True, False]) == {"$schema": DIALECT, "type": "boolean"}
    strings = infer(["ab", "abcd"])
    assert strings["x-seen"] == {"minLength": 2, "maxLength": 4}


def test_the_ranges_seen_never_refuse_a_new_value() -> None:
    # ids 1 to 7 recorded: the API answers id 42 as well, and so may a fallback
    assert is_valid(infer([{"id": 1}, {"id": 7}]), {"id": 42})
    assert is_valid(infer(["ab", "abcd"]), "a much longer string than any recorded")


def test_arrays_describe_the_shape_of_all_their_items() -> None:
    schema = infer([[{"a": 1}, {"a": 2, "b": "x"}], []])
    assert schema["type"] == "array"
    assert schema["items"]["required"] == ["a"]
    assert set(schema["items"]["properties"]) == {"a", "b"}


def test_structural_strips_what_was_learned_about_values_and_keeps_the_shape() -> None:
    full = infer(github_issues())
    shape = structural(full)
    for _, sub in _walk(shape):
        assert not VALUE_KEYWORDS & set(sub), sub
    assert shape["required"] == full["required"]
    assert shape["properties"]["body"]["type"] == full["properties"]["body"]["type"]
    renumbered = {**github_issues()[0], "id": 987654321, "title": "a title nobody recorded" * 3}
    assert is_valid(full, renumbered)  # ranges seen are annotations
    recolored = {**renumbered, "state": "reopened-by-nobody"}  # outside the closed set
    assert full["properties"]["state"]["enum"] == ["open"]
    assert not is_valid(full, recolored)
    assert is_valid(shape, recolored)
    assert not is_valid(shape, {**renumbered, "id": "not a number"})
    one_of = {"oneOf": [{"type": "string", "enum": ["a"]}, {"type": "string", "enum": ["b"]}]}
    assert is_valid(structural(one_of), "c")


def test_a_sample_nested_too_deep_is_a_schema_error_naming_where() -> None:
    deep: Any = "leaf"
    for _ in range(10_000):
        deep = {"a": [deep]}
    with pytest.raises(SchemaError) as caught:
        infer([{"fine": 1}, deep])
    assert f"sample 1 nests deeper than {MAX_DEPTH} levels (at /a/0/a/0" in str(caught.value)


def test_a_value_json_has_not_is_a_schema_error_naming_where() -> None:
    with pytest.raises(SchemaError, match=r"sample 0 holds a bytes at /token/1"):
        infer([{"token": ["x", b"secret"]}])
    with pytest.raises(SchemaError, match="key that is not a string"):
        infer([{1: "x"}])


def test_an_object_keyed_by_data_becomes_a_map() -> None:
    sample = {f"user{i}": {"age": i} for i in range(infer_module.MAX_PROPERTIES + 1)}
    schema = infer([sample])
    assert "properties" not in schema
    assert schema["additionalProperties"]["properties"]["age"]["type"] == "integer"
    assert is_valid(schema, sample)


def test_samples_past_the_limit_are_counted_not_silently_dropped(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(infer_module, "MAX_SAMPLES", 5)
    schema = infer(github_issues())
    assert schema["x-virt-skipped"] == len(github_issues()) - 5
    assert "x-virt-skipped" not in infer(github_issues()[:5])


def test_query_strings_are_objects_of_strings_and_string_lists() -> None:
    schema = query_schema(
        [
            {"page": "1", "per_page": "3"},
            {"page": "2", "per_page": "3", "label": ["bug", "ui"]},
        ]
    )
    assert schema["type"] == "object"
    assert schema["required"] == ["page", "per_page"]
    assert schema["properties"]["page"]["type"] == "string"
    assert schema["properties"]["label"]["items"]["type"] == "string"
    assert query_schema([])["type"] == "object"


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=12)
    | st.sampled_from(["2024-01-02", "a@b.io", "https://x.io/a", "10.0.0.1", "open", "closed"]),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=24,
)


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(JSON, min_size=1, max_size=8))
def test_any_json_samples_are_all_described(samples: list[Any]) -> None:
    schema = infer(samples)
    for sample in samples:
        assert violations(schema, sample) == [], sample
