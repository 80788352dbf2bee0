"""go-vcr reader: every corpus cassette imports and replays; details from hand-picked files."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.formats.corpus import (
    check_file_imports,
    check_folder_replays,
    corpus,
    corpus_files,
    folder_names,
    interactions_of,
    reads_cleanly,
)
from virt.formats.base import ImportFormatError, Item, Skipped
from virt.formats.govcr import READER
from virt.model import Interaction

FILES = corpus_files("go-vcr")
AUTH0 = "go-vcr/auth0__go-auth0/test/data/recordings"

V1 = """---
version: 1
interactions:
- request:
    body: ""
    form: {}
    headers:
      Accept: [application/json]
    url: http://api.example.com/things?page=2
    method: GET
  response:
    body: '{"things":[]}'
    headers:
      Content-Type: [application/json]
    status: 404 Not Found
    code: 404
"""


def read(path: Path) -> list[Item]:
    return list(READER.read(path))


def interactions(path: Path) -> list[Interaction]:
    return interactions_of(READER, path)


def write(tmp_path: Path, text: str, name: str = "cassette.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", FILES)
def test_corpus_file_imports(path: Path | None) -> None:
    check_file_imports(path, READER, "go-vcr")


@pytest.mark.parametrize("folder", folder_names("go-vcr"))
def test_corpus_replays_each_request_to_the_interaction_it_came_from(
    folder: str, tmp_path: Path
) -> None:
    check_folder_replays("go-vcr", folder, interactions, tmp_path)


def test_status_line_gives_the_reason_and_proto_the_http_version() -> None:
    (info,) = read(corpus(f"{AUTH0}/authentication/TestUserInfo.yaml"))
    assert isinstance(info, Interaction)
    assert info.request.url == "https://go-auth0-dev.eu.auth0.com/userinfo"
    assert info.request.headers == ()
    assert info.request.http_version == "HTTP/1.1"
    assert (info.response.status, info.response.reason) == (200, "OK")
    assert info.response.http_version == "HTTP/2.0"
    assert info.response.headers == (("Content-Type", "application/json; charset=utf-8"),)
    assert info.response.body.startswith(b'{"sub":"test-sub","nickname":"test-user"')
    assert info.recorded_at == ""  # go-vcr records a duration, not a time


def test_form_post_keeps_its_body_text_and_headers() -> None:
    (token,) = interactions(
        corpus(f"{AUTH0}/authentication/TestLoginWithAuthCode/Should_return_tokens.yaml")
    )
    assert (token.request.method, token.request.url) == (
        "POST",
        "https://go-auth0-dev.eu.auth0.com/oauth/token",
    )
    assert token.request.headers == (("Content-Type", "application/x-www-form-urlencoded"),)
    assert token.request.body == (
        b"client_id=test-client_id&client_secret=test-client_secret&code=my-code"
        b"&grant_type=authorization_code"
    )


def test_checkpoint_pagination_keeps_queries_and_literal_block_bodies() -> None:
    first, second = interactions(corpus(f"{AUTH0}/TestLogManager_CheckpointPagination.yaml"))
    assert first.request.query == "page=1&per_page=10"
    assert second.request.query.startswith("from=900202306021058041205630")
    assert first.request.body == b"null\n"  # a `|` block keeps its final newline
    assert first.response.body.startswith(b'[{"_id":"9002023060210580599660700')


def test_version_1_cassette_reads_the_same_shape(tmp_path: Path) -> None:
    (item,) = interactions(write(tmp_path, V1))
    assert item.request.url == "http://api.example.com/things?page=2"
    assert item.request.headers == (("Accept", "application/json"),)
    assert (item.response.status, item.response.reason) == (404, "Not Found")
    assert item.response.body == b'{"things":[]}'


def test_gzipped_cassette_reads_like_the_plain_one(tmp_path: Path) -> None:
    plain = write(tmp_path, V1)
    packed = tmp_path / "cassette.yaml.gz"
    packed.write_bytes(gzip.compress(V1.encode()))
    assert READER.sniff(packed)
    assert read(packed)[0].response == read(plain)[0].response  # type: ignore[union-attr]


def test_binary_body_in_its_coding_is_taken_as_wire_bytes(tmp_path: Path) -> None:
    wire = gzip.compress(b"hello", mtime=0)
    text = V1.replace(
        "    body: '{\"things\":[]}'\n    headers:\n      Content-Type: [application/json]",
        f"    body: !!binary {base64.b64encode(wire).decode()}\n"
        "    headers:\n      Content-Encoding: [gzip]",
    )
    (item,) = interactions(write(tmp_path, text))
    assert item.response.body == b"hello"
    assert item.response.encoding == "gzip"
    assert item.response.wire_body == wire


def test_text_body_under_a_gzip_header_is_reencoded_at_replay(tmp_path: Path) -> None:
    text = V1.replace("Content-Type: [application/json]", "Content-Encoding: [gzip]")
    (item,) = interactions(write(tmp_path, text))
    assert item.response.body == b'{"things":[]}'
    assert item.response.encoding == "gzip"
    assert item.response.wire_body is None


def test_status_without_code_and_repeated_header_values(tmp_path: Path) -> None:
    text = V1.replace("    code: 404\n", "").replace(
        "Content-Type: [application/json]", "Set-Cookie: [a=1, b=2]"
    )
    (item,) = interactions(write(tmp_path, text))
    assert item.response.status == 404
    assert item.response.headers == (("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"))


def test_empty_cassette_is_one_skipped_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "---\nversion: 2\ninteractions: []\n")
    assert read(path) == [Skipped("interactions", "the cassette holds no interactions")]


def test_newer_cassette_version_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as e:
        read(write(tmp_path, V1.replace("version: 1", "version: 3")))
    assert e.value.where == "version"
    assert "newer go-vcr (cassette version 3" in e.value.why


@pytest.mark.parametrize(
    ("old", "new", "where", "why"),
    [
        ("method: GET", "method: 7", "interactions[0].request.method", "method"),
        ("url: http://api.example.com/things?page=2", "url: /things", "request.url", "host"),
        ("    code: 404\n", "    code: '404'\n", "interactions[0].response.code", "status"),
        ("Accept: [application/json]", "Accept: {a: b}", "request.headers.Accept", "text"),
        ('body: ""', "body: [1]", "interactions[0].request.body", "text"),
        ("- request:", "- 1\n- request:", "interactions[0]", "request and response"),
        ("interactions:", "interactions: {}\nx:", "interactions", "list"),
        ("    status: 404 Not Found\n", "    status: [\n", "", "YAML"),
    ],
    ids=["method", "no-host", "code", "header", "body", "entry", "list", "yaml"],
)
def test_malformed_cassettes_name_the_entry(
    tmp_path: Path, old: str, new: str, where: str, why: str
) -> None:
    path = write(tmp_path, V1.replace(old, new))
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.path == str(path)
    assert where in e.value.where
    assert why in e.value.why


def test_sniff_leaves_vcrpy_cassettes_alone(tmp_path: Path) -> None:
    assert READER.sniff(write(tmp_path, V1))
    vcrpy = "version: 1\ninteractions:\n- request:\n    body: null\n    uri: http://a/\n"
    assert not READER.sniff(write(tmp_path, vcrpy, "vcrpy.yaml"))
    sorted_keys = "interactions:\n- request: {}\nversion: 1\n"
    assert not READER.sniff(write(tmp_path, sorted_keys, "sorted.yaml"))
    assert not READER.sniff(write(tmp_path, V1, "cassette.json"))
    assert not READER.sniff(tmp_path / "missing.yaml")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_side = st.fixed_dictionaries(
    {},
    optional={
        "method": st.sampled_from(["GET", "post"]) | _scalars,
        "url": st.sampled_from(["https://a.example/x?y=1", "/rel", "http://[::1"]) | _scalars,
        "host": _scalars,
        "headers": st.dictionaries(st.text(max_size=8), _values, max_size=3) | _values,
        "body": _values | st.binary(max_size=20),
        "code": st.integers(-5, 1200) | _scalars,
        "status": st.sampled_from(["200 OK", "x", ""]) | _scalars,
        "proto": st.sampled_from(["HTTP/2.0", "SPDY"]) | _scalars,
    },
)
_cassettes = st.fixed_dictionaries(
    {"version": st.sampled_from([1, 2, 3]) | _scalars},
    optional={
        "interactions": st.lists(
            st.fixed_dictionaries({}, optional={"request": _side, "response": _side}) | _values,
            max_size=3,
        )
        | _values
    },
)


@settings(deadline=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "cassette.yaml"
    path.write_bytes(data)
    reads_cleanly(READER, path)


@settings(deadline=None)
@given(cassette=_cassettes | _values)
def test_random_cassettes_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, cassette: Any
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "cassette.yaml"
    path.write_text(yaml.safe_dump(cassette))
    reads_cleanly(READER, path)
