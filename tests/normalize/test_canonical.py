"""Canonical forms: drift that does not change a request's meaning does not change its key."""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from tests.helpers import shuffled
from virt.model import Request
from virt.normalize import exact_key
from virt.normalize.canonical import body_form, canonical_key

JSON_CT = (("Content-Type", "application/json"),)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**40), 2**40) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def post(body: bytes, headers: tuple[tuple[str, str], ...] = JSON_CT, query: str = "") -> Request:
    return Request("POST", "https", "api.example.com", 443, "/v1/things", query, headers, body)


@given(json_values, st.integers(0, 2**32), st.sampled_from([None, 2, "\t"]))
def test_json_key_order_and_whitespace_never_change_the_key(
    value: object, seed: int, indent: int | str | None
) -> None:
    a = post(json.dumps(value).encode())
    b = post(json.dumps(shuffled(value, random.Random(seed)), indent=indent).encode())
    assert canonical_key(a) == canonical_key(b)


@given(json_values)
def test_the_canonical_form_is_idempotent(value: object) -> None:
    once = body_form(post(json.dumps(value).encode()))
    again = body_form(post(once))
    assert once == again


@given(json_values, json_values)
def test_different_json_data_gets_different_keys(a: object, b: object) -> None:
    if json.loads(json.dumps(a)) != json.loads(json.dumps(b)):
        assert canonical_key(post(json.dumps(a).encode())) != canonical_key(
            post(json.dumps(b).encode())
        )


def test_number_spelling_does_not_matter_but_values_do() -> None:
    assert canonical_key(post(b'{"n": 1.0}')) == canonical_key(post(b'{"n":1}'))
    assert canonical_key(post(b'{"n": 1.5}')) != canonical_key(post(b'{"n": 1}'))


def test_form_bodies_compare_as_sorted_pairs() -> None:
    form = (("Content-Type", "application/x-www-form-urlencoded"),)
    assert canonical_key(post(b"a=1&b=2", form)) == canonical_key(post(b"b=2&a=1", form))
    assert canonical_key(post(b"a=1&b=2", form)) != canonical_key(post(b"a=1&b=3", form))


def test_multipart_ignores_the_boundary_but_not_the_content() -> None:
    def multipart(boundary: str, content: bytes) -> Request:
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
                f"Content-Type: text/plain\r\n\r\n"
            ).encode()
            + content
            + f"\r\n--{boundary}--\r\n".encode()
        )
        return post(body, (("Content-Type", f"multipart/form-data; boundary={boundary}"),))

    assert canonical_key(multipart("aaa", b"hello")) == canonical_key(multipart("zzz123", b"hello"))
    assert exact_key(multipart("aaa", b"hello")) != exact_key(multipart("zzz123", b"hello"))
    assert canonical_key(multipart("aaa", b"hello")) != canonical_key(multipart("aaa", b"bye"))


def test_graphql_whitespace_and_variable_order_do_not_matter() -> None:
    a = {
        "query": "query Q($id: ID!) {\n  user(id: $id) { name, email }\n}",
        "variables": {"id": 1, "x": 2},
    }
    b = {
        "variables": {"x": 2, "id": 1},
        "query": "query Q($id: ID!) { user(id: $id) { name email } }",
    }
    assert canonical_key(post(json.dumps(a).encode())) == canonical_key(
        post(json.dumps(b).encode())
    )
    c = {**b, "variables": {"x": 2, "id": 2}}
    assert canonical_key(post(json.dumps(a).encode())) != canonical_key(
        post(json.dumps(c).encode())
    )


def test_xml_attribute_order_and_whitespace_do_not_matter() -> None:
    xml = (("Content-Type", "application/xml"),)
    a = b'<Put b="2" a="1">\n  <Key>k</Key>\n</Put>'
    b = b'<Put a="1" b="2"><Key>k</Key></Put>'
    assert canonical_key(post(a, xml)) == canonical_key(post(b, xml))
    assert canonical_key(post(a, xml)) != canonical_key(post(b.replace(b">k<", b">j<"), xml))


def test_signing_query_parameters_are_ignored_the_rest_is_not() -> None:
    signed = "X-Amz-Date=20260101T000000Z&X-Amz-Signature=abc&key=photo.png"
    resigned = "key=photo.png&X-Amz-Signature=def&X-Amz-Date=20261125T120000Z"
    assert canonical_key(post(b"", query=signed)) == canonical_key(post(b"", query=resigned))
    other = "key=other.png&X-Amz-Signature=def&X-Amz-Date=20261125T120000Z"
    assert canonical_key(post(b"", query=signed)) != canonical_key(post(b"", query=other))


def test_a_body_that_is_not_what_it_claims_compares_as_bytes() -> None:
    assert body_form(post(b"{not json")) == b"bytes:{not json"
    assert canonical_key(post(b"{not json")) != canonical_key(post(b"{not  json"))
