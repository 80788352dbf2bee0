"""Percent-encoding forms: spellings RFC 3986 calls equal match at every stage; bytes stay bytes."""

from __future__ import annotations

from dataclasses import replace

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from virt.model import Request
from virt.normalize import keys
from virt.normalize.canonical import MAX_DEPTH, json_form, too_deep
from virt.normalize.fields import fields
from virt.normalize.route import template
from virt.normalize.uri import pairs, path_form, query_pairs

DELETE = Request(
    "DELETE",
    "https",
    "oauth.reddit.com",
    443,
    "/api/v1/<TEST_SUBREDDIT>/emoji/test_png",
    "",
    (),
    b"",
)


@pytest.mark.parametrize(
    ("path", "form"),
    [
        ("/api/v1/<TEST_SUBREDDIT>/emoji", "/api/v1/%3CTEST_SUBREDDIT%3E/emoji"),
        ("/api/v1/%3cTEST_SUBREDDIT%3e/emoji", "/api/v1/%3CTEST_SUBREDDIT%3E/emoji"),
        ("/%7Euser/%41%2d%5F", "/~user/A-_"),
        ("/a%2Fb/c", "/a%2Fb/c"),  # an escaped slash is not a segment boundary
        ("/a%2fb", "/a%2Fb"),
        ("/50%/x", "/50%25/x"),
        ("/%zz", "/%25zz"),
        ("/caf\u00e9 au lait", "/caf%C3%A9%20au%20lait"),
        ("/caf\udce9", "/caf%E9"),  # a byte that is not UTF-8, as surrogateescape carries it
        ("/v1/users:search/@me;v=1", "/v1/users:search/@me;v=1"),
    ],
)
def test_paths_take_their_rfc3986_normal_form(path: str, form: str) -> None:
    assert path_form(path) == form
    assert path_form(form) == form  # idempotent


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/%3CTEST_SUBREDDIT%3E/emoji/test_png",
        "/api/v1/%3ctest_subreddit%3e/emoji/test_png".replace("test_subreddit", "TEST_SUBREDDIT"),
        "/api/v1/<TEST_SUBREDDIT>/emoji/%74est_png",
    ],
)
def test_a_path_spelled_another_way_has_every_key_and_field_of_the_original(path: str) -> None:
    other = replace(DELETE, path=path)
    assert keys(other) == keys(DELETE)
    assert fields(other) == fields(DELETE)
    assert other.path == path  # the request itself keeps what was sent


def test_escaped_and_plain_query_values_are_the_same_value() -> None:
    a = replace(DELETE, query="name=%3Cx%3E&tag=%7e")
    b = replace(DELETE, query="tag=~&name=<x>")
    assert keys(a) == keys(b)
    assert fields(a) == fields(b)


def test_query_bytes_that_are_not_utf8_keep_their_own_value() -> None:
    # a text decoding reads both as U+FFFD: the same key for two different requests
    f6, e9 = replace(DELETE, query="q=%F6"), replace(DELETE, query="q=%E9")
    assert keys(f6).exact != keys(e9).exact
    assert keys(f6).canonical != keys(e9).canonical
    assert fields(f6) != fields(e9)
    assert pairs("q=%F6") == [("q", "\\xf6")]


def test_reserved_escapes_stay_distinct_in_the_route_template() -> None:
    assert template(path_form("/a%2Fb")) != template(path_form("/a/b"))


def test_a_latin1_form_body_has_keys_and_json_safe_fields() -> None:
    form = Request(
        "POST",
        "http",
        "h",
        80,
        "/echo",
        "",
        (("content-type", "application/x-www-form-urlencoded"),),
        "name=J\xf6rg".encode("latin-1"),
    )
    assert keys(form) != keys(replace(form, body=b"name=J\xe9rg"))
    got = fields(form)
    assert got["form:name"] == "J\\xf6rg"
    orjson.dumps(got)  # journals and miss reports serialise fields: no surrogate may reach them


@pytest.mark.parametrize("depth", [MAX_DEPTH + 1, 900, 5000])
def test_json_nested_past_the_cap_is_compared_as_bytes(depth: int) -> None:
    body = b'{"a":' * depth + b"1" + b"}" * depth
    deep = Request("POST", "http", "h", 80, "/x", "", (("content-type", "application/json"),), body)
    assert json_form(deep) is not None  # NOT_JSON, not an error
    assert set(fields(deep)) == {"header:content-type", "body"}
    assert keys(deep) != keys(replace(deep, body=body.replace(b"1", b"2")))
    assert keys(deep) == keys(replace(deep))


def test_json_at_the_cap_is_still_read_as_data() -> None:
    body = b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    req = Request("POST", "http", "h", 80, "/x", "", (("content-type", "application/json"),), body)
    assert not too_deep(json_form(req))
    assert "body:$" + "[0]" * MAX_DEPTH in fields(req)


_CTYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "text/xml",
        "application/graphql",
        "",
    ]
)


@settings(deadline=None, max_examples=300)
@given(
    body=st.binary(max_size=64)
    | st.integers(1, 3000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(1, 3000).map(lambda n: b'{"a":' * n + b"null" + b"}" * n),
    ctype=_CTYPES,
    path=st.text(max_size=20).map(lambda t: "/" + t),
    query=st.text(max_size=20),
)
def test_any_bytes_at_any_depth_get_keys_and_fields(
    body: bytes, ctype: str, path: str, query: str
) -> None:
    req = Request("POST", "http", "h", 80, path, query, (("content-type", ctype),), body)
    keys(req)
    orjson.dumps(fields(req))


def test_query_pairs_keeps_blank_values_and_repeats() -> None:
    assert query_pairs("b=2&a=&a=1&c") == (("a", ""), ("a", "1"), ("b", "2"), ("c", ""))
