"""nock reader: every octokit fixture imports and replays; details from hand-picked files."""

from __future__ import annotations

import gzip
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
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
from virt.formats.nock import READER
from virt.model import Interaction, header

FILES = corpus_files("nock")
GITHUB = "nock/octokit__fixtures/scenarios/api.github.com"


def read(path: Path) -> list[Item]:
    return list(READER.read(path))


def interactions(path: Path) -> list[Interaction]:
    return interactions_of(READER, path)


def fixture(tmp_path: Path, definitions: Any) -> Path:
    path = tmp_path / "fixture.json"
    path.write_text(json.dumps(definitions))
    return path


def definition(**fields: Any) -> dict[str, Any]:
    return {
        "scope": "https://api.example.com:443",
        "method": "get",
        "path": "/items",
        "body": "",
        "status": 200,
        "response": "",
        **fields,
    }


@pytest.mark.parametrize("path", FILES)
def test_corpus_file_imports(path: Path | None) -> None:
    check_file_imports(path, READER, "nock")


@pytest.mark.parametrize("folder", folder_names("nock"))
def test_corpus_replays_each_request_to_the_interaction_it_came_from(
    folder: str, tmp_path: Path
) -> None:
    check_folder_replays("nock", folder, interactions, tmp_path)


def test_scope_and_path_make_the_url_and_raw_headers_keep_order_and_repeats() -> None:
    (root,) = interactions(corpus(f"{GITHUB}/get-root/raw-fixture.json"))
    assert root.request.method == "GET"
    assert root.request.url == "https://api.github.com/"
    assert root.request.headers == (
        ("accept", "application/vnd.github.v3+json"),
        ("authorization", "token 0000000000000000000000000000000000000001"),
        ("host", "api.github.com"),
    )
    assert root.response.headers[:2] == (
        ("Server", "GitHub.com"),
        ("Date", "Tue, 19 Jul 2022 04:37:49 GMT"),
    )
    assert [v for k, v in root.response.headers if k == "Vary"] == [
        "Accept, Authorization, Cookie, X-GitHub-OTP",
        "Accept-Encoding, Accept, X-Requested-With",
    ]
    assert root.response.headers[-1] == ("connection", "close")


def test_json_response_is_written_back_to_its_recorded_length() -> None:
    (root,) = interactions(corpus(f"{GITHUB}/get-root/raw-fixture.json"))
    assert header(root.response.headers, "Content-Length") == "2262"
    assert len(root.response.body) == 2262
    assert root.response.body.startswith(b'{"current_user_url":"https://api.github.com/user",')
    assert root.response.reason == ""  # nock records none


def test_binary_response_is_decoded_from_hex_byte_for_byte() -> None:
    archive = interactions(corpus(f"{GITHUB}/get-archive/raw-fixture.json"))[3]
    assert archive.request.url.startswith("https://codeload.github.com/octokit-fixture-org/")
    assert header(archive.response.headers, "Content-Type") == "application/x-gzip"
    assert len(archive.response.body) == 302
    assert hashlib.sha256(archive.response.body).hexdigest() == (
        "1a2df3d02b7038037eb08fcad772b75a5effbcc754a4328d007183299e8ff660"
    )
    assert archive.response.encoding is None  # a .tar.gz file, not a content coding


def test_redirect_keeps_its_location_and_empty_body() -> None:
    redirect = interactions(corpus(f"{GITHUB}/get-archive/raw-fixture.json"))[2]
    assert redirect.response.status == 302
    assert header(
        redirect.response.headers,
        "Location",
    ) == (
        "https://codeload.github.com/octokit-fixture-org/"
        "tmp-scenario-get-archive-20240124204918461-o3t43/legacy.tar.gz/refs/heads/main"
    )
    assert redirect.response.body == b""


def test_request_bodies_are_compact_json_or_text_as_sent() -> None:
    rendered, raw = interactions(corpus(f"{GITHUB}/markdown/raw-fixture.json"))
    assert rendered.request.body == (
        b'{"text":"### Hello\\n\\nb597b5d",'
        b'"context":"octokit-fixture-org/hello-world","mode":"gfm"}'
    )
    assert header(rendered.request.headers, "content-length") == str(len(rendered.request.body))
    assert raw.request.body == b"### Hello\n\nb597b5d"
    assert raw.response.body.startswith(b'<h3>\n<a id="user-content-hello"')
    assert len(raw.response.body) == 171


def test_normalized_fixture_headers_object_is_read_with_numbers_as_text() -> None:
    (root,) = interactions(corpus(f"{GITHUB}/get-root/normalized-fixture.json"))
    assert header(root.response.headers, "x-ratelimit-used") == "1"
    assert root.response.headers[0] == ("access-control-allow-origin", "*")


def test_content_length_picks_the_spelling_of_a_json_body(tmp_path: Path) -> None:
    value = {"a": [1, 2], "b": {"c": None}}
    pretty = json.dumps(value, indent=2)
    path = fixture(
        tmp_path,
        [
            definition(response=value, rawHeaders=["Content-Length", str(len(pretty))]),
            definition(response=value, rawHeaders=["Content-Length", "999"]),
            definition(response=value),
            definition(response=value, headers={"content-length": len(json.dumps(value))}),
        ],
    )
    bodies = [i.response.body for i in interactions(path)]
    assert bodies == [
        pretty.encode(),
        b'{"a":[1,2],"b":{"c":null}}',
        b'{"a":[1,2],"b":{"c":null}}',
        json.dumps(value).encode(),
    ]


def test_json_numbers_and_text_keep_their_spelling(tmp_path: Path) -> None:
    path = tmp_path / "fixture.json"
    path.write_text(
        '[{"scope": "http://localhost:3000", "method": "POST", "path": "/n?x=1",'
        ' "body": {"f": 1.50}, "status": 201,'
        ' "response": {"big": 12345678901234567890, "e": 1e+21, "s": "caf\\u00e9 \\u2028"}}]'
    )
    (item,) = interactions(path)
    assert item.request.url == "http://localhost:3000/n?x=1"
    assert item.request.body == b'{"f":1.50}'
    assert item.response.body == '{"big":12345678901234567890,"e":1e+21,"s":"café \u2028"}'.encode()


def test_gzip_header_over_a_json_body_is_reencoded_at_replay(tmp_path: Path) -> None:
    path = fixture(
        tmp_path, [definition(response={"ok": True}, headers={"content-encoding": "gzip"})]
    )
    (item,) = interactions(path)
    assert item.response.body == b'{"ok":true}'
    assert item.response.encoding == "gzip"
    assert item.response.wire_body is None


def test_hex_chunks_of_an_encoded_response_are_the_wire_bytes(tmp_path: Path) -> None:
    wire = gzip.compress(b'{"ok":true}', mtime=0)
    chunks = [wire[:10].hex(), wire[10:].hex()]
    path = fixture(tmp_path, [definition(response=chunks, rawHeaders=["Content-Encoding", "gzip"])])
    (item,) = interactions(path)
    assert item.response.body == b'{"ok":true}'
    assert item.response.encoding == "gzip"
    assert item.response.wire_body == wire


def test_empty_fixture_is_one_skipped_entry(tmp_path: Path) -> None:
    assert read(fixture(tmp_path, [])) == [Skipped("", "the fixture holds no definitions")]


@pytest.mark.parametrize(
    ("definitions", "where", "why"),
    [
        ({"scope": "x"}, "", "array"),
        ([definition(scope=None)], "[0].scope", "origin"),
        ([definition(), definition(method=3)], "[1].method", "method"),
        ([definition(status="200")], "[0].status", "status"),
        ([definition(rawHeaders=["a"])], "[0].rawHeaders", "names and values"),
        ([definition(responseIsBinary=True, response="zz")], "[0].response", "hex"),
        ([definition(scope="https://")], "[0].scope", "host"),
        (["not an object"], "[0]", "definition"),
    ],
    ids=["object", "scope", "method", "status", "raw-headers", "hex", "no-host", "string"],
)
def test_malformed_definitions_name_the_entry(
    tmp_path: Path, definitions: Any, where: str, why: str
) -> None:
    path = fixture(tmp_path, definitions)
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.path == str(path)
    assert e.value.where == where
    assert why in e.value.why


def test_sniff_claims_arrays_of_scoped_definitions_only(tmp_path: Path) -> None:
    assert READER.sniff(fixture(tmp_path, [definition()]))
    assert not READER.sniff(fixture(tmp_path, {"log": {"entries": []}}))
    assert not READER.sniff(fixture(tmp_path, [{"request": {"uri": "https://a/"}}]))
    assert not READER.sniff(tmp_path / "missing.json")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_fields = st.fixed_dictionaries(
    {},
    optional={
        "scope": st.sampled_from(["https://a.example:443", "http://h", "x", ""]) | _scalars,
        "method": st.sampled_from(["get", "POST"]) | _scalars,
        "path": st.sampled_from(["/", "/a?b=c", "a"]) | _scalars,
        "body": _values,
        "status": st.integers(-5, 1200) | _scalars,
        "response": _values | st.just(["1f8b", "00"]) | st.just("zz"),
        "responseIsBinary": st.booleans() | _scalars,
        "rawHeaders": st.lists(_scalars, max_size=6) | _values,
        "headers": st.dictionaries(st.text(max_size=8), _values, max_size=3) | _values,
        "reqheaders": st.dictionaries(st.text(max_size=8), _values, max_size=3) | _values,
    },
)


@settings(deadline=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fixture.json"
    path.write_bytes(data)
    reads_cleanly(READER, path)


@settings(deadline=None)
@given(definitions=st.lists(_fields, max_size=3) | _values)
def test_random_definitions_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, definitions: Any
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "fixture.json"
    path.write_text(json.dumps(definitions))
    reads_cleanly(READER, path)
