"""Shape drift compares what a client reads, never values."""

from __future__ import annotations

from virt.drift.finding import Kind, Severity
from virt.drift.shape import compare


def kinds(recorded: list, live: list) -> set[tuple[Kind, str]]:
    return {(f.kind, f.where) for f in compare(recorded, live)}


def test_different_volatile_values_of_the_same_shape_are_no_drift() -> None:
    recorded = [{"id": 1, "at": "2026-01-01T00:00:00Z", "tags": ["a"], "price": 1.5}]
    live = [{"id": 99, "at": "2027-05-05T10:00:00Z", "tags": ["x", "y"], "price": 2}]
    assert kinds(recorded, live) == set()


def test_a_number_that_became_an_integer_is_not_retyped_but_the_reverse_is() -> None:
    assert kinds([{"n": 1.5}], [{"n": 2}]) == set()
    assert kinds([{"n": 1}], [{"n": 2.5}]) == {(Kind.FIELD_RETYPED, "$.n")}


def test_a_removed_object_is_one_finding_not_one_per_member() -> None:
    found = compare([{"owner": {"id": 1, "login": "a"}}], [{}])
    assert [(f.kind, f.where, f.severity) for f in found] == [
        (Kind.FIELD_REMOVED, "$.owner", Severity.BREAKING)
    ]


def test_fields_of_array_items_are_compared_across_every_item() -> None:
    recorded = [[{"a": 1}, {"a": 2}]]
    live = [[{"a": 1}, {"a": None}]]
    assert kinds(recorded, live) == {(Kind.MADE_NULLABLE, "$[].a")}


def test_an_empty_live_array_says_nothing_about_its_items() -> None:
    assert kinds([{"items": [{"a": 1}]}], [{"items": []}]) == set()


def test_an_enum_gone_needs_enough_live_strings() -> None:
    recorded = [{"s": s} for s in ("on", "on", "off", "off")]
    assert kinds(recorded, [{"s": "on"}]) == set()
    live = [{"s": "on"}] * 4
    assert kinds(recorded, live) == {(Kind.ENUM_VALUE_GONE, "$.s")}


def test_ids_and_names_never_become_enums() -> None:
    recorded = [{"name": n, "id": n} for n in ("ann", "ann", "bob", "bob")]
    live = [{"name": "cyd", "id": "cyd"}]
    assert kinds(recorded, live) == set()


def test_ignored_paths_are_never_reported() -> None:
    found = compare([{"a": 1, "b": 1}], [{"a": "x"}], ignored=lambda path: path == "$.a")
    assert [(f.kind, f.where) for f in found] == [(Kind.FIELD_REMOVED, "$.b")]


def test_maps_keyed_by_ids_or_dates_compare_their_values_not_their_keys() -> None:
    recorded = [{"by_day": {"2026-01-01": {"n": 1}}, "users": {"17": {"a": 1}, "42": {"a": 2}}}]
    live = [{"by_day": {"2026-02-03": {"n": 5}}, "users": {"99": {"a": "x"}}}]
    assert kinds(recorded, live) == {(Kind.FIELD_RETYPED, "$.users{}.a")}
