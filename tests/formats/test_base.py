"""Helpers every reader shares: expect() checks a value's shape and says where it broke."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from virt.formats.base import ImportFormatError, describe, expect

PATH = Path("cassettes/api.yaml")


def test_expect_returns_a_value_of_the_kind() -> None:
    entry = {"request": {}}
    assert expect(entry, dict, PATH, "interactions[0]", "a mapping") is entry
    assert expect(0, int, PATH, "code", "an HTTP status") == 0


def test_expect_names_the_file_the_entry_what_was_expected_and_what_was_found() -> None:
    with pytest.raises(ImportFormatError) as e:
        expect([1], dict, PATH, "interactions[3].request", "a mapping")
    assert e.value.path == str(PATH)
    assert e.value.where == "interactions[3].request"
    assert e.value.why == "expected a mapping, got a list"
    assert (
        str(e.value)
        == "cassettes/api.yaml: interactions[3].request: expected a mapping, got a list"
    )


def test_a_bool_is_not_a_number() -> None:
    with pytest.raises(ImportFormatError, match="expected an HTTP status, got true"):
        expect(True, int, PATH, "code", "an HTTP status")
    assert expect(False, bool, PATH, "flag", "true or false") is False


def test_nonempty_refuses_empty_text() -> None:
    assert expect("GET", str, PATH, "method", "the request method", nonempty=True) == "GET"
    with pytest.raises(ImportFormatError, match="expected the request method, got empty text"):
        expect("", str, PATH, "method", "the request method", nonempty=True)
    assert expect("", str, PATH, "path", "a path") == ""


@pytest.mark.parametrize(
    ("value", "words"),
    [
        (None, "nothing"),
        (False, "false"),
        (404, "404"),
        (10**40, "a number"),
        ("secret-token", "text"),
        (b"\x00", "binary data"),
        ({}, "an empty mapping"),
        ([1], "a list"),
    ],
)
def test_describe_never_shows_text(value: Any, words: str) -> None:
    assert describe(value) == words
