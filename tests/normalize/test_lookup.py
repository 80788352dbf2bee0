"""exact_key: the parts of a request that make it the same request, and only those."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virt.model import Request
from virt.normalize import exact_key

BASE = Request(
    method="POST",
    scheme="https",
    host="api.example.com",
    port=443,
    path="/v1/search",
    query="q=shoes&page=2&tag=a&tag=b",
    headers=(("Content-Type", "application/json"), ("User-Agent", "client/1.0")),
    body=b'{"size": 10}',
)


def test_the_same_request_gives_the_same_key() -> None:
    assert exact_key(BASE) == exact_key(replace(BASE))
    assert len(exact_key(BASE)) == 32


@pytest.mark.parametrize(
    "query",
    ["page=2&q=shoes&tag=a&tag=b", "tag=a&tag=b&page=2&q=shoes", "tag=a&page=2&tag=b&q=shoes"],
)
def test_query_parameter_order_does_not_change_the_key(query: str) -> None:
    assert exact_key(replace(BASE, query=query)) == exact_key(BASE)


@settings(deadline=None)  # correctness, not speed
@given(st.permutations([("a", "1"), ("b", "2"), ("a", "3"), ("c", ""), ("d", "x y")]))
def test_any_order_of_the_same_query_pairs_gives_the_same_key(pairs: list[tuple[str, str]]) -> None:
    query = "&".join(f"{k}={v}" for k, v in pairs)
    assert exact_key(replace(BASE, query=query)) == exact_key(
        replace(BASE, query="a=1&b=2&a=3&c=&d=x y")
    )


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"method": "PUT"}, id="method"),
        pytest.param({"scheme": "http"}, id="scheme"),
        pytest.param({"host": "api2.example.com"}, id="host"),
        pytest.param({"port": 8443}, id="port"),
        pytest.param({"path": "/v1/search/"}, id="path-trailing-slash"),
        pytest.param({"path": "/v2/search"}, id="path"),
        pytest.param({"query": "q=shoes&page=3&tag=a&tag=b"}, id="query-value"),
        pytest.param({"query": "q=shoes&page=2&tag=a"}, id="query-repeat-dropped"),
        pytest.param({"query": "q=shoes&page=2&tag=a&tag=b&x="}, id="query-blank-added"),
        pytest.param({"body": b'{"size": 11}'}, id="body"),
        pytest.param({"body": b""}, id="body-empty"),
    ],
)
def test_a_difference_that_matters_changes_the_key(changed: dict[str, object]) -> None:
    assert exact_key(replace(BASE, **changed)) != exact_key(BASE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"headers": ()}, id="no-headers"),
        pytest.param(
            {"headers": (("user-agent", "other/2.0"), ("X-Request-Id", "abc"), ("Date", "now"))},
            id="other-headers",
        ),
        pytest.param({"http_version": "HTTP/2.0"}, id="http-version"),
    ],
)
def test_headers_and_protocol_version_do_not_change_the_key(changed: dict[str, object]) -> None:
    assert exact_key(replace(BASE, **changed)) == exact_key(BASE)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "changed",
    [
        pytest.param({"method": "post"}, id="method"),
        pytest.param({"host": "API.Example.COM"}, id="host"),
        pytest.param({"scheme": "HTTPS"}, id="scheme"),
    ],
)
def test_method_scheme_and_host_compare_without_case(changed: dict[str, object]) -> None:
    assert exact_key(replace(BASE, **changed)) == exact_key(BASE)  # type: ignore[arg-type]


def test_field_boundaries_cannot_be_shifted_to_collide() -> None:
    # "/a" + query "b=" must not equal "/ab" + "=": parts are separated, not concatenated
    one = replace(BASE, host="ab.example", path="/c")
    two = replace(BASE, host="a", path="/b.example/c")
    assert exact_key(one) != exact_key(two)


def test_non_utf8_paths_get_a_key() -> None:
    # mitmproxy and the replay door both decode raw paths with surrogateescape
    weird = replace(BASE, path="/caf\udce9")
    assert exact_key(weird) != exact_key(replace(BASE, path="/caf\u00e9"))
