"""compare() with a floor, and the path bound: scoring stops early only where the outcome
is already known, and a score that could reach the threshold is always computed whole."""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from virt.match.rules import Policy
from virt.match.score import Side, compare, path_bound
from virt.model import Request

JSON = (("Content-Type", "application/json"),)


def side(path: str, query: str = "", body: object = None) -> Side:
    data = b"" if body is None else orjson.dumps(body)
    headers = JSON if data else ()
    return Side.of(Request("POST", "https", "api.example.com", 443, path, query, headers, data))


def test_a_candidate_sure_to_stay_under_the_floor_is_cut_short_with_an_upper_bound() -> None:
    sent = side("/search", body={"q": "new", "page": 1, "filters": {"a": 1}})
    recorded = side("/search", body={"q": "old", "page": 2, "filters": {"a": 2}})
    whole = compare(sent, recorded, Policy())
    cut = compare(sent, recorded, Policy(), floor=0.85)
    assert cut.partial and not whole.partial
    assert whole.score <= cut.score < 0.85


def test_a_candidate_that_could_reach_the_floor_is_scored_whole() -> None:
    sent = side("/search", "x=1", body={"q": "same", "page": 1, "a": 1, "b": 2})
    recorded = side("/search", "x=1", body={"q": "same", "page": 1, "a": 1, "b": 3})
    cut = compare(sent, recorded, Policy(), floor=0.85)
    assert not cut.partial
    assert cut == compare(sent, recorded, Policy())


def test_the_path_bound_rules_out_another_id() -> None:
    sent, recorded = side("/items/42"), side("/items/7")
    bound = path_bound(sent, Policy())
    assert compare(sent, recorded, Policy()).score <= bound(recorded) < Policy().threshold
    assert bound(side("/items/42")) == 1.0


values = st.one_of(st.integers(0, 3), st.sampled_from(["a", "b", "1700000000"]))
bodies = st.dictionaries(st.sampled_from(["q", "page", "n", "m"]), values, max_size=4)
queries = st.sampled_from(["", "x=1", "x=2", "x=1&y=2"])


@given(bodies, bodies, queries, queries, st.floats(0.1, 1.0))
def test_the_floor_never_changes_what_reaches_it(
    sent_body: dict[str, object],
    recorded_body: dict[str, object],
    sent_query: str,
    recorded_query: str,
    floor: float,
) -> None:
    sent = side("/items/1", sent_query, sent_body or None)
    recorded = side("/items/1", recorded_query, recorded_body or None)
    whole = compare(sent, recorded, Policy())
    cut = compare(sent, recorded, Policy(), floor=floor)
    if cut.partial:
        assert whole.score <= cut.score < floor
    else:
        assert cut == whole


def test_another_page_is_never_the_same_request_however_alike_the_rest() -> None:
    query = "alt=json&prefix=blob&maxResults=2&projection=full&versions=false"
    sent = side("/storage/v1/b/bucket/o", f"{query}&pageToken=Cg9ibG9iLWZvci1saXN0LTE%3D")
    recorded = side("/storage/v1/b/bucket/o", f"{query}&pageToken=Cg9ibG9iLWZvci1saXN0LTI%3D")
    assert compare(sent, recorded, Policy()).failed == "query:pageToken: another page"
    first_page = side("/storage/v1/b/bucket/o", query)
    assert compare(sent, first_page, Policy()).failed == "query:pageToken: another page"
    assert compare(recorded, recorded, Policy()).failed is None


@pytest.mark.parametrize(
    ("sent_query", "recorded_query"),
    [
        # Auth0's checkpoint paging: two opaque cursors that share a long prefix
        (
            "from=MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGQzOGIz&take=2",
            "from=MjAyMy0wMy0xNCAxMzozNjoxMy44MjkwMDBVVEMsYXV0aDB8NjQxMDc4NGRkMzUz&take=2",
        ),
        ("from=20&size=10", "from=10&size=10"),  # Elasticsearch's window
        ("first=5", "first=10"),
        ("$top=5&$skip=10", "$top=5&$skip=5"),  # OData
        ("count=200", "count=20"),
    ],
)
def test_a_cursor_or_window_of_another_name_is_another_page_too(
    sent_query: str, recorded_query: str
) -> None:
    sent = side("/api/v2/organizations/org_1/members", sent_query)
    recorded = side("/api/v2/organizations/org_1/members", recorded_query)
    failed = compare(sent, recorded, Policy()).failed
    assert failed is not None and failed.endswith(": another page")
    assert compare(sent, sent, Policy()).failed is None
