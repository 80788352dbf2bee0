"""VCR.py cassettes: every corpus file imports and replays itself, each dialect reads exactly,
nothing but ImportFormatError escapes the reader, and export then import keeps interactions."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.corpus import (
    CORPUS,
    assert_sane,
    corpus_files,
    corpus_folders,
    interactions_of,
    replay_in_process,
    require_corpus,
)
from virt import encoding
from virt.formats import FORMATS, ImportFormatError, Reader, Skipped, detect
from virt.formats.vcr import READER, WRITER
from virt.model import Headers, Interaction, Request, Response, header

VCR_DIR = CORPUS / "vcr"
OWN_FORMATS = ("vcr", "vcr-ruby", "betamax")

# --- shared by test_betamax.py -----------------------------------------------------------------


def check_corpus_file(reader: Reader, path: Path | None) -> None:
    """The file imports; it yields interactions, or only Skipped entries that say why; each
    interaction is sane; the reader claims the file and detect() picks this reader."""
    require_corpus()
    assert path is not None
    items = list(reader.read(path))
    assert items, "a cassette yields at least one item"
    assert_sane(items, path, reader.name)
    assert reader.sniff(path)
    found = detect(path)
    assert found is not None and found.name == reader.name


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))


def self_replay(reader: Reader, folder: Path | None, db: Path) -> int:
    """Insert every interaction of `folder` into a real Store, then ask the Engine for each
    request in recorded order: each must be answered by the interaction it came from."""
    require_corpus()
    assert folder is not None
    recorded = [i for p in files_under(folder) for i in interactions_of(reader, p)]
    replay_in_process(db, recorded)
    print(f"{reader.name}/{folder.name}: {len(recorded)} interactions replayed")
    return len(recorded)


def grouped(headers: Headers) -> Headers:
    """Headers as VCR.py keeps them: each name's values together, names in first-seen order."""
    names: dict[str, list[str]] = {}
    for name, value in headers:
        names.setdefault(name, []).append(value)
    return tuple((name, value) for name, values in names.items() for value in values)


def assert_round_trip(before: list[Interaction], after: list[Interaction]) -> None:
    """What a VCR.py cassette keeps: method, URL, request body, status and reason, headers
    (repeats grouped per name), the decoded body with its coding, the wire bytes where known,
    and recorded_at. Lost by design: the HTTP version, and where a repeated header stood
    among other fields."""
    assert len(after) == len(before)
    for n, (a, b) in enumerate(zip(before, after, strict=True)):
        where = f"interaction {n} of {a.source}"
        assert (b.request.method, b.request.url) == (a.request.method, a.request.url), where
        assert (b.request.body, b.request.encoding) == (a.request.body, a.request.encoding), where
        assert b.request.headers == grouped(a.request.headers), where
        assert (b.response.status, b.response.reason) == (a.response.status, a.response.reason)
        assert b.response.headers == grouped(a.response.headers), where
        assert b.response.body == a.response.body, where
        assert b.response.encoding == a.response.encoding, where
        if a.response.wire_body is not None:
            assert b.response.wire_body == a.response.wire_body, where
        assert b.recorded_at == a.recorded_at, where


def export_import(interactions: Iterable[Interaction], path: Path) -> list[Interaction]:
    items = list(interactions)
    assert WRITER.write(items, path) == len(items)
    return interactions_of(READER, path)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


# --- every corpus file ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_files("vcr"))
def test_corpus_file_imports(path: Path | None) -> None:
    check_corpus_file(READER, path)


@pytest.mark.parametrize("folder", corpus_folders("vcr"))
def test_corpus_folder_replays_itself(folder: Path | None, tmp_path: Path) -> None:
    assert self_replay(READER, folder, tmp_path / "replay.db") > 0


@pytest.mark.parametrize("fmt", OWN_FORMATS)
def test_corpus_exports_to_vcr_and_reads_back(fmt: str, tmp_path: Path) -> None:
    require_corpus()
    for path in files_under(CORPUS / fmt):
        before = interactions_of(FORMATS[fmt], path)
        assert_round_trip(before, export_import(before, tmp_path / "out.yaml"))


def test_no_reader_of_these_formats_claims_another_formats_file() -> None:
    require_corpus()
    wrong = [
        (fmt, path.relative_to(CORPUS).as_posix())
        for path in files_under(CORPUS)
        for fmt in OWN_FORMATS
        if path.relative_to(CORPUS).parts[0] != fmt and FORMATS[fmt].sniff(path)
    ]
    assert wrong == []


# --- dialects, read exactly ------------------------------------------------------------------


def test_1x_json_cassette_reads_every_field() -> None:
    require_corpus()
    path = VCR_DIR / "kevin1024__vcrpy/tests/fixtures/migration/new_cassette.json"
    (i,) = interactions_of(READER, path)
    assert (i.request.method, i.request.url, i.request.body) == (
        "GET",
        "http://httpbin.org/ip",
        b"",
    )
    assert i.request.headers[0] == ("accept", "*/*")
    assert (i.response.status, i.response.reason) == (200, "OK")
    assert header(i.response.headers, "content-type") == "application/json"
    assert [k for k, _ in i.response.headers][-1] == "connection"
    assert i.response.body == b'{\n  "origin": "217.122.164.194"\n}'
    assert i.recorded_at == ""


@pytest.mark.parametrize("name", ["old_cassette.yaml", "old_cassette.json"])
def test_pre_1_0_cassette_migrates_to_the_same_interaction(name: str) -> None:
    require_corpus()
    folder = VCR_DIR / "kevin1024__vcrpy/tests/fixtures/migration"
    (old,) = interactions_of(READER, folder / name)
    (new,) = interactions_of(READER, folder / name.replace("old", "new"))
    assert (old.request.method, old.request.url) == ("GET", "http://httpbin.org/ip")
    assert old.response.body == new.response.body
    assert (old.response.status, old.response.reason) == (200, "OK")
    # the frozenset of !!python/tuple request headers, and the "name: value\r\n" response lines
    assert sorted(old.request.headers) == sorted(new.request.headers)
    assert [k for k, _ in old.response.headers] == [k for k, _ in new.response.headers]
    assert header(old.response.headers, "content-length") == "32"


def test_tornado_cassette_with_tuple_headers_keeps_repeats_in_order() -> None:
    require_corpus()
    path = (
        VCR_DIR / "kevin1024__vcrpy/tests/integration/test_tornado_with_decorator_use_cassette.yaml"
    )
    (i,) = interactions_of(READER, path)
    cookies = [v for k, v in i.response.headers if k == "Set-Cookie"]
    assert [c.split("=")[0] for c in cookies] == ["PREF", "NID"]
    assert i.response.headers[0] == ("Expires", "-1")
    assert i.response.body == b"not actually google"


def test_binary_gzip_body_decodes_and_keeps_the_wire_bytes() -> None:
    require_corpus()
    path = VCR_DIR / "kevin1024__vcrpy/tests/integration/cassettes/gzip_requests.yaml"
    (i,) = interactions_of(READER, path)
    raw = yaml.safe_load(path.read_text())["interactions"][0]["response"]["body"]["string"]
    assert i.response.encoding == "gzip" and i.response.wire_body == raw
    assert json.loads(i.response.body)["gzipped"] is True
    assert i.response.reason == "great"


def test_tweepy_binary_gzip_body_is_the_wire_bytes() -> None:
    require_corpus()
    path = VCR_DIR / "tweepy__tweepy/cassettes/test_client_get_liked_tweets.yaml"
    i = interactions_of(READER, path)[0]
    assert i.request.url == "https://api.twitter.com/2/users/783214/liked_tweets"
    assert i.response.wire_body is not None and i.response.wire_body[:2] == b"\x1f\x8b"
    assert gzip.decompress(i.response.wire_body) == i.response.body
    assert json.loads(i.response.body)["data"][0]["edit_history_tweet_ids"]


def test_httpx_old_format_content_was_decoded_and_is_reencoded_at_replay() -> None:
    require_corpus()
    path = VCR_DIR / "kevin1024__vcrpy/tests/integration/cassettes/gzip_httpx_old_format.yaml"
    (i,) = interactions_of(READER, path)
    assert i.response.status == 200
    assert json.loads(i.response.body)["gzipped"] is True
    assert (i.response.encoding, i.response.wire_body) == ("gzip", None)


def test_text_body_under_a_stale_gzip_header_is_taken_as_decoded() -> None:
    require_corpus()  # okta's aiohttp stub kept the decoded text and the gzip header
    path = VCR_DIR / (
        "okta__okta-sdk-python/tests/integration/cassettes/test_dpop_it/"
        "TestDPoPIntegration.test_dpop_token_reuse.yaml"
    )
    decoded = [i for i in interactions_of(READER, path) if i.response.encoding == "gzip"]
    assert decoded
    for i in decoded:
        assert i.response.wire_body is None
        json.loads(i.response.body)


def test_dict_request_body_without_content_type_is_a_form() -> None:
    require_corpus()
    path = VCR_DIR / (
        "okta__okta-sdk-python/tests/integration/cassettes/test_dpop_it/"
        "TestDPoPIntegration.test_dpop_token_reuse.yaml"
    )
    i = interactions_of(READER, path)[0]
    assert i.request.url == "https://test.okta.com/oauth2/v1/token"
    assert i.request.body.startswith(b"client_assertion=eyJ")
    assert b"&grant_type=client_credentials&scope=okta.users.read+okta.apps.read" in i.request.body
    # okta keeps some response headers as plain strings, others as lists
    assert header(i.response.headers, "Content-Type") == "application/json"
    assert header(i.response.headers, "Expires") == "0"


def test_dict_request_body_with_json_content_type_is_aiohttps_json() -> None:
    require_corpus()
    path = VCR_DIR / "tweepy__tweepy/cassettes/test_asyncclient_create_and_delete_tweet.yaml"
    i = interactions_of(READER, path)[0]
    assert (i.request.method, i.request.url) == ("POST", "https://api.twitter.com/2/tweets")
    assert i.request.body == b'{"text": "Test Tweet"}'


@pytest.mark.parametrize(
    ("name", "spelling"),
    [
        ("test_anthropic/test_anthropic_model_usage_limit_exceeded.yaml", b'{"messages":[{'),
        ("test_google/test_google_model.yaml", b'{"contents": [{"parts": '),
    ],
)
def test_parsed_body_is_spelled_to_the_recorded_content_length(name: str, spelling: bytes) -> None:
    require_corpus()
    path = VCR_DIR / "pydantic__pydantic-ai/tests/models/cassettes" / name
    raw = yaml.safe_load(path.read_text())["interactions"][0]
    i = interactions_of(READER, path)[0]
    length = header(i.request.headers, "content-length")
    assert length is not None and len(i.request.body) == int(length)
    assert i.request.body.startswith(spelling)
    assert json.loads(i.request.body) == raw["request"]["parsed_body"]


def test_parsed_response_body_is_json_of_the_recorded_value() -> None:
    require_corpus()
    path = VCR_DIR / (
        "pydantic__pydantic-ai/tests/models/cassettes/test_anthropic/"
        "test_anthropic_model_usage_limit_exceeded.yaml"
    )
    raw = yaml.safe_load(path.read_text())["interactions"][0]["response"]
    i = interactions_of(READER, path)[0]
    assert json.loads(i.response.body) == raw["parsed_body"]


def test_bedrock_event_stream_binary_body_is_byte_exact() -> None:
    require_corpus()
    path = VCR_DIR / (
        "pydantic__pydantic-ai/tests/models/cassettes/test_bedrock/"
        "test_bedrock_model_stream_empty_text_delta.yaml"
    )
    raw = yaml.safe_load(path.read_text())["interactions"][0]
    i = interactions_of(READER, path)[0]
    assert i.response.body == raw["response"]["body"]["string"]
    assert (
        hashlib.sha256(i.response.body).digest()
        == hashlib.sha256(raw["response"]["body"]["string"]).digest()
    )
    # header values kept as !!binary are read as the same text
    assert header(i.request.headers, "content-type") == "application/json"


def test_recorded_at_comes_from_the_interaction_as_iso_utc() -> None:
    require_corpus()
    path = VCR_DIR / (
        "praw-dev__praw/tests/integration/cassettes/"
        "TestAuthImplicit.test_implicit__with_invalid_token.json"
    )
    (i,) = interactions_of(READER, path)
    assert i.recorded_at == "2016-08-08T04:32:00.000Z"
    assert (i.request.url, i.response.status) == (
        "https://oauth.reddit.com/api/v1/me?raw_json=1",
        401,
    )


# --- the safe loader and errors -----------------------------------------------------------------

CASSETTE = """\
interactions:
- request:
    body: {body}
    headers: {{}}
    method: GET
    uri: https://api.example.com/items
  response:
    body: {{string: ok}}
    headers: {{}}
    status: {{code: {code}, message: OK}}
version: {version}
"""


@pytest.mark.parametrize(
    "tag",
    [
        "!!python/object/apply:os.system ['touch {marker}']",
        "!!python/object/apply:subprocess.check_output [['touch', '{marker}']]",
        "!!python/name:os.system",
        "!!python/object/new:os.system ['touch {marker}']",
    ],
)
def test_python_tags_that_run_code_are_refused_not_run(tag: str, tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    body = tag.format(marker=marker)
    path = write(tmp_path, "evil.yaml", CASSETTE.format(body=body, code=200, version=1))
    with pytest.raises(ImportFormatError, match="tag virt does not build") as e:
        list(READER.read(path))
    assert e.value.path == str(path)
    assert not marker.exists()


def test_a_newer_cassette_version_is_refused_by_name(tmp_path: Path) -> None:
    path = write(tmp_path, "v2.yaml", CASSETTE.format(body="null", code=200, version=2))
    with pytest.raises(ImportFormatError, match="version 2 is newer than virt reads"):
        list(READER.read(path))


def test_errors_name_the_entry_that_broke(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.yaml", CASSETTE.format(body="null", code="'teapot'", version=1))
    with pytest.raises(ImportFormatError) as e:
        list(READER.read(path))
    assert e.value.where == "interactions[0].response.status.code"
    assert str(e.value).startswith(f"{path}: interactions[0]")


def test_an_interaction_without_response_is_skipped_with_a_reason(tmp_path: Path) -> None:
    text = "interactions:\n- request: {method: GET, uri: 'http://a.example/'}\n  response: null\n"
    (item,) = READER.read(write(tmp_path, "half.yaml", text))
    assert item == Skipped("interactions[0]", "no response was recorded")


def test_an_empty_cassette_says_so(tmp_path: Path) -> None:
    (item,) = READER.read(write(tmp_path, "empty.yaml", "interactions: []\nversion: 1\n"))
    assert isinstance(item, Skipped) and "no interactions" in item.why


def test_timestamps_and_python_strings_stay_text(tmp_path: Path) -> None:
    text = CASSETTE.format(body="!!python/unicode 'a=1'", code=200, version=1).replace(
        "headers: {}\n    method", "headers: {Date: [2019-01-01 10:00:00]}\n    method"
    )
    (i,) = interactions_of(READER, write(tmp_path, "t.yaml", text))
    assert i.request.body == b"a=1"
    assert i.request.headers == (("Date", "2019-01-01 10:00:00"),)


# --- nothing but ImportFormatError escapes ----------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=20,
)
parts = st.fixed_dictionaries(
    {},
    optional={
        "method": json_values | st.sampled_from(["GET", "post", ""]),
        "uri": json_values | st.sampled_from(["https://a.example/x?y=1", "/rel", "http://[::1"]),
        "body": json_values | st.fixed_dictionaries({"string": json_values}),
        "parsed_body": json_values,
        "headers": json_values,
        "status": json_values | st.fixed_dictionaries({"code": json_values}),
        "status_code": json_values,
        "content": json_values,
        "protocol": json_values,
        "host": json_values,
        "port": json_values,
        "path": json_values,
    },
)
entries = st.lists(
    st.fixed_dictionaries({"request": parts | json_values, "response": parts | json_values}),
    max_size=3,
)
cassettes = entries | st.fixed_dictionaries(
    {"interactions": entries}, optional={"version": json_values, "recorded_at": json_values}
)


def read_all(reader: Reader, path: Path) -> None:
    try:
        for _ in reader.read(path):
            pass
    except ImportFormatError:
        pass


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=512), suffix=st.sampled_from([".yaml", ".json"]))
def test_any_bytes_raise_only_import_format_error(data: bytes, suffix: str, tmp_path: Path) -> None:
    read_all(READER, write(tmp_path, "fuzz" + suffix, data))


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=cassettes, as_yaml=st.booleans())
def test_any_structure_raises_only_import_format_error(
    doc: Any, as_yaml: bool, tmp_path: Path
) -> None:
    text = yaml.safe_dump(doc) if as_yaml else json.dumps(doc)
    read_all(READER, write(tmp_path, "fuzz.yaml" if as_yaml else "fuzz.json", text))


# --- export ------------------------------------------------------------------------------------


def test_export_writes_the_structure_vcrpy_writes(tmp_path: Path) -> None:
    request = Request(
        "POST",
        "https",
        "api.example.com",
        443,
        "/v1/items",
        "q=1",
        (("Content-Type", "application/json"),),
        b'{"a": 1}',
    )
    response = Response(201, "Created", (("Content-Type", "text/plain"),), "héllo".encode())
    path = tmp_path / "out.yaml"
    assert WRITER.write([Interaction(request, response)], path) == 1
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert doc == {
        "interactions": [
            {
                "request": {
                    "body": '{"a": 1}',
                    "headers": {"Content-Type": ["application/json"]},
                    "method": "POST",
                    "uri": "https://api.example.com/v1/items?q=1",
                },
                "response": {
                    "body": {"string": "héllo"},
                    "headers": {"Content-Type": ["text/plain"]},
                    "status": {"code": 201, "message": "Created"},
                },
            }
        ],
        "version": 1,
    }
    assert READER.sniff(path) and detect(path) is READER


def test_export_of_nothing_is_an_empty_cassette(tmp_path: Path) -> None:
    path = tmp_path / "none.yaml"
    assert WRITER.write([], path) == 0
    assert yaml.safe_load(path.read_text()) == {"interactions": [], "version": 1}


def test_export_keeps_content_encoded_bodies_as_binary_wire_bytes(tmp_path: Path) -> None:
    wire = gzip.compress(b'{"ok": true}', mtime=0)
    response = Response(200, "OK", (("Content-Encoding", "gzip"),), b'{"ok": true}', "gzip", wire)
    request = Request("GET", "http", "a.example", 8080, "/")
    path = tmp_path / "gz.yaml"
    WRITER.write([Interaction(request, response)], path)
    doc = yaml.safe_load(path.read_text())
    assert doc["interactions"][0]["response"]["body"]["string"] == wire
    (back,) = interactions_of(READER, path)
    assert (back.response.body, back.response.wire_body) == (b'{"ok": true}', wire)
    assert back.request.url == "http://a.example:8080/"


def test_export_groups_a_headers_repeats_and_drops_the_http_version(tmp_path: Path) -> None:
    # VCR.py keeps headers as a mapping of name to values: a repeat interleaved with other
    # fields comes back next to its first value, and there is no field for the HTTP version
    headers = (("Set-Cookie", "a=1"), ("Vary", "Accept"), ("Set-Cookie", "b=2"))
    response = Response(200, "OK", headers, b"", http_version="HTTP/2.0")
    request = Request("GET", "https", "a.example", 443, "/")
    (back,) = export_import([Interaction(request, response)], tmp_path / "h.yaml")
    assert back.response.headers == (
        ("Set-Cookie", "a=1"),
        ("Set-Cookie", "b=2"),
        ("Vary", "Accept"),
    )
    assert back.response.http_version == "HTTP/1.1"


header_names = st.sampled_from(["Set-Cookie", "set-cookie", "X-Trace", "Link", "Vary", "X-Ü"])
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=30)
bodies = (
    st.binary(max_size=300)
    | st.text(max_size=200).map(lambda t: t.encode("utf-8"))
    | st.sampled_from([b"", b"\x1f\x8b\x08\x00broken", "caf\u00e9 \u2603 \U0001f600".encode()])
)


@st.composite
def interactions(draw: st.DrawFn) -> Interaction:
    request_body = draw(bodies)
    request = Request(
        method=draw(st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH"])),
        scheme=draw(st.sampled_from(["http", "https"])),
        host=draw(st.sampled_from(["api.example.com", "127.0.0.1", "xn--bcher-kva.example"])),
        port=draw(st.sampled_from([80, 443, 8443])),
        path=draw(st.sampled_from(["/", "/a/b", "/caf%C3%A9", "/x;y", "/items/%20"])),
        query=draw(st.sampled_from(["", "a=1&a=2", "q=caf%C3%A9&empty="])),
        headers=tuple(draw(st.lists(st.tuples(header_names, header_values), max_size=5))),
        body=request_body,
    )
    body = draw(bodies)
    coding = draw(st.sampled_from([None, "gzip", "br", "deflate", "zstd"]))
    headers = tuple(draw(st.lists(st.tuples(header_names, header_values), max_size=5)))
    if coding is not None:
        headers = (*headers, ("Content-Encoding", coding))
        response = Response(200, "OK", headers, body, coding, encoding.encode(body, coding))
    else:
        response = Response(
            draw(st.integers(100, 599)), draw(st.sampled_from(["", "OK", "Ünïcode"])), headers, body
        )
    return Interaction(request, response, recorded_at=draw(st.sampled_from(["", TIME])))


TIME = "2024-01-02T03:04:05.000Z"


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=st.lists(interactions(), max_size=4))
def test_export_then_import_keeps_tricky_interactions(
    batch: list[Interaction], tmp_path: Path
) -> None:
    assert_round_trip(batch, export_import(batch, tmp_path / "rt.yaml"))


def test_export_reads_back_in_vcrpys_own_loader_shape(tmp_path: Path) -> None:
    # VCR.py loads cassettes with yaml's (C)Loader; the exported file needs no tag beyond
    # !!binary, so the plain safe loader reads it too
    body = base64.b64decode("iVBORw0KGgo=")  # PNG magic: not UTF-8
    request = Request("PUT", "https", "a.example", 443, "/img", body=body)
    path = tmp_path / "bin.yaml"
    WRITER.write([Interaction(request, Response(204))], path)
    doc = yaml.safe_load(path.read_text())
    assert doc["interactions"][0]["request"]["body"] == body
    assert doc["interactions"][0]["response"]["body"] == {"string": ""}
