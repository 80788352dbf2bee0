"""Betamax and Ruby VCR cassettes (http_interactions): every corpus file imports and replays
itself, each dialect reads exactly, and nothing but ImportFormatError escapes either reader."""

from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.corpus import (
    CORPUS,
    corpus_files,
    corpus_folders,
    interactions_of,
    require_corpus,
)
from tests.formats.test_vcr import (
    cassettes,
    check_corpus_file,
    read_all,
    self_replay,
    write,
)
from virt.formats import FORMATS, ImportFormatError, Skipped, detect
from virt.formats.betamax import READERS, BetamaxReader, RubyVcrReader
from virt.formats.vcr import READER as VCR
from virt.model import header

BETAMAX, RUBY = READERS
GITHUB3 = CORPUS / "betamax/sigmavirus24__github3.py/tests/cassettes"
SLACK = CORPUS / "vcr-ruby/slack-ruby__slack-ruby-client/spec/fixtures/slack/web"


def test_both_readers_are_registered() -> None:
    assert isinstance(FORMATS["betamax"], BetamaxReader)
    assert isinstance(FORMATS["vcr-ruby"], RubyVcrReader)


# --- every corpus file ---------------------------------------------------------------------------


@pytest.mark.parametrize("path", corpus_files("betamax"))
def test_betamax_corpus_file_imports(path: Path | None) -> None:
    check_corpus_file(BETAMAX, path)


@pytest.mark.parametrize("path", corpus_files("vcr-ruby"))
def test_ruby_vcr_corpus_file_imports(path: Path | None) -> None:
    check_corpus_file(RUBY, path)


@pytest.mark.parametrize("folder", corpus_folders("betamax"))
def test_betamax_corpus_folder_replays_itself(folder: Path | None, tmp_path: Path) -> None:
    assert self_replay(BETAMAX, folder, tmp_path / "replay.db") > 0


@pytest.mark.parametrize("folder", corpus_folders("vcr-ruby"))
def test_ruby_vcr_corpus_folder_replays_itself(folder: Path | None, tmp_path: Path) -> None:
    assert self_replay(RUBY, folder, tmp_path / "replay.db") > 0


# --- Betamax dialects ----------------------------------------------------------------------------


def test_base64_beside_an_empty_string_is_the_gzip_wire_body() -> None:
    require_corpus()
    path = GITHUB3 / "Asset_delete.json"
    raw = json.loads(path.read_text())["http_interactions"][0]["response"]["body"]
    assert raw["string"] == ""
    first, *rest = interactions_of(BETAMAX, path)
    assert first.request.url == "https://api.github.com/repos/github3py/delete_contents"
    assert first.response.wire_body == base64.b64decode(raw["base64_string"])
    assert first.response.encoding == "gzip"
    assert gzip.decompress(first.response.wire_body) == first.response.body
    assert json.loads(first.response.body)["name"] == "delete_contents"
    assert first.recorded_at == "2018-01-01T20:17:23.000Z"
    assert [(i.request.method, i.response.status) for i in rest] == [
        ("POST", 201),
        ("POST", 201),
        ("DELETE", 204),
    ]
    assert rest[1].request.host == "uploads.github.com"
    assert rest[1].request.query == "name=test_repos_release.py&label=test-label"


def test_flat_status_code_of_the_oldest_files_gets_the_standard_reason() -> None:
    require_corpus()
    first = interactions_of(BETAMAX, GITHUB3 / "User_iter_orgs.json")[0]
    assert (first.response.status, first.response.reason) == (200, "OK")
    assert first.request.body == b""  # a plain-string request body
    assert header(first.request.headers, "user-agent") == "github3.py/0.8.0"
    assert json.loads(first.response.body)["login"] == "sigmavirus24"


def test_preserved_exact_bytes_are_read_from_base64() -> None:
    require_corpus()
    path = CORPUS / "betamax/betamaxpy__betamax/tests/cassettes/preserve_exact_bytes.json"
    raw = json.loads(path.read_text())["http_interactions"][0]
    (i,) = interactions_of(BETAMAX, path)
    assert i.request.body == b"a=1"
    assert i.response.body == base64.b64decode(raw["response"]["body"]["base64_string"])
    assert i.response.headers[0] == ("access-control-allow-origin", "*")


def test_old_betamax_body_kept_decoded_under_a_gzip_header_is_reencoded() -> None:
    require_corpus()
    path = CORPUS / "betamax/betamaxpy__betamax/tests/cassettes/GitHub_create_issue.json"
    first = interactions_of(BETAMAX, path)[0]
    assert header(first.response.headers, "content-encoding") == "gzip"
    assert (first.response.encoding, first.response.wire_body) == ("gzip", None)
    assert json.loads(first.response.body)["name"] == "fork_this"


def test_body_string_is_encoded_in_its_recorded_charset(tmp_path: Path) -> None:
    doc = {
        "http_interactions": [
            {
                "request": {"body": "", "headers": {}, "method": "GET", "uri": "http://a.example/"},
                "response": {
                    "body": {"encoding": "ISO-8859-1", "string": "café"},
                    "headers": {"Content-Type": ["text/plain; charset=ISO-8859-1"]},
                    "status": {"code": 200, "message": "OK"},
                    "url": "http://a.example/",
                },
                "recorded_at": "2015-06-27T15:39:25",
            }
        ],
        "recorded_with": "betamax/0.8.1",
    }
    (i,) = interactions_of(BETAMAX, write(tmp_path, "latin.json", json.dumps(doc)))
    assert i.response.body == "café".encode("latin-1")


# --- Ruby VCR dialects ---------------------------------------------------------------------------


def test_ruby_cassette_reads_method_body_and_rfc_2822_time() -> None:
    require_corpus()
    first = interactions_of(RUBY, SLACK / "429_error.yml")[0]
    assert (first.request.method, first.request.url) == ("POST", "https://slack.com/api/auth.test")
    assert header(first.request.headers, "Authorization") == "Bearer <SLACK_API_TOKEN>"
    assert (first.response.status, first.response.reason) == (200, "OK")
    assert json.loads(first.response.body)["team"] == "dblock"
    assert first.recorded_at == "2019-01-19T21:25:48.000Z"
    assert first.response.http_version == "HTTP/1.1"


def test_ruby_cassette_reads_form_encoded_request_bodies() -> None:
    require_corpus()
    bodies = [i.request.body for i in interactions_of(RUBY, SLACK / "users_info.yml")]
    assert any(b"user=" in body for body in bodies)


RUBY_BINARY = """\
---
http_interactions:
- request:
    method: get
    uri: https://files.example.com/logo.png
    body:
      encoding: US-ASCII
      string: ''
    headers:
      X-Raw:
      - !binary |-
        w6k=
  response:
    status:
      code: 200
      message: !binary |-
        T0s=
    headers:
      Content-Type:
      - image/png
    body:
      encoding: ASCII-8BIT
      string: !binary |-
        iVBORw0KGgoAAAANSUhEUg==
    http_version: '1.1'
  recorded_at: Tue, 01 Jan 2019 12:00:00 GMT
- request:
    method: post
    uri: https://files.example.com/upload
    body:
      encoding: ASCII-8BIT
      base64_string: |
        AAEC
    headers: {}
  response:
    status:
      code: 201
      message: Created
    headers: {}
    body:
      encoding: UTF-8
      base64_string: |
        eyJvayI6dHJ1ZX0=
    http_version: '2'
  recorded_at: Tue, 01 Jan 2019 12:00:01 GMT
recorded_with: VCR 6.2.0
"""


def test_ruby_binary_tags_and_base64_strings_are_byte_exact(tmp_path: Path) -> None:
    path = write(tmp_path, "binary.yml", RUBY_BINARY)
    assert RUBY.sniff(path) and not VCR.sniff(path) and not BETAMAX.sniff(path)
    png, upload = interactions_of(RUBY, path)
    assert png.request.method == "GET"
    assert png.request.headers == (("X-Raw", "\xc3\xa9"),)  # bytes kept, latin-1 as the model does
    assert png.response.reason == "OK"  # message was a !binary string too
    assert png.response.body == base64.b64decode("iVBORw0KGgoAAAANSUhEUg==")
    assert png.recorded_at == "2019-01-01T12:00:00.000Z"
    assert (upload.request.body, upload.response.body) == (b"\x00\x01\x02", b'{"ok":true}')
    assert upload.response.http_version == "HTTP/2"


RUBY_VCR_1 = """\
---
- !ruby/struct:VCR::HTTPInteraction
  request: !ruby/struct:VCR::Request
    method: :get
    uri: http://example.com:80/foo?a=1
    body:
    headers:
      accept:
      - '*/*'
  response: !ruby/struct:VCR::Response
    status: !ruby/struct:VCR::ResponseStatus
      code: 200
      message: OK
    headers:
      content-type:
      - text/html; charset=utf-8
    body: Hello
    http_version: "1.1"
"""


def test_ruby_vcr_1_struct_cassette_reads_as_plain_data(tmp_path: Path) -> None:
    path = write(tmp_path, "old.yml", RUBY_VCR_1)
    assert RUBY.sniff(path)
    (i,) = interactions_of(RUBY, path)
    assert (i.request.method, i.request.url) == ("GET", "http://example.com/foo?a=1")
    assert (i.response.status, i.response.body, i.recorded_at) == (200, b"Hello", "")


def test_ruby_json_cassette_is_claimed_by_ruby_not_betamax(tmp_path: Path) -> None:
    doc = yaml.load(RUBY_BINARY.replace("!binary", "!!binary"), Loader=yaml.SafeLoader)
    for entry in doc["http_interactions"]:  # Ruby's :json serializer has no binary type
        entry["request"]["headers"] = {}
        entry["response"]["status"]["message"] = "OK"
        body = entry["response"]["body"]
        if isinstance(body.get("string"), bytes):
            body["base64_string"] = base64.b64encode(body.pop("string")).decode()
    path = write(tmp_path, "ruby.json", json.dumps(doc))
    assert RUBY.sniff(path) and not BETAMAX.sniff(path)
    found = detect(path)
    assert found is not None and found.name == "vcr-ruby"
    assert len(interactions_of(RUBY, path)) == 2


# --- errors --------------------------------------------------------------------------------------


def test_unsafe_ruby_and_python_tags_are_refused(tmp_path: Path) -> None:
    evil = RUBY_VCR_1.replace("!ruby/struct:VCR::Response", "!ruby/hash:ActiveSupport::Evil")
    with pytest.raises(ImportFormatError, match="tag virt does not build"):
        list(RUBY.read(write(tmp_path, "evil.yml", evil)))
    evil = RUBY_VCR_1.replace("body: Hello", "body: !!python/object/apply:os.getcwd []")
    with pytest.raises(ImportFormatError, match="tag virt does not build"):
        list(RUBY.read(write(tmp_path, "evil2.yml", evil)))


def test_errors_name_the_interaction(tmp_path: Path) -> None:
    doc = {"http_interactions": [{"request": {"method": "GET", "uri": "nohost"}, "response": {}}]}
    with pytest.raises(ImportFormatError) as e:
        list(BETAMAX.read(write(tmp_path, "bad.json", json.dumps(doc))))
    assert e.value.where == "http_interactions[0].request.uri"


def test_bad_base64_is_an_import_error(tmp_path: Path) -> None:
    doc = {
        "http_interactions": [
            {
                "request": {"method": "GET", "uri": "http://a.example/", "body": ""},
                "response": {"status": {"code": 200}, "body": {"base64_string": "!!!"}},
            }
        ]
    }
    with pytest.raises(ImportFormatError, match="not valid base64") as e:
        list(BETAMAX.read(write(tmp_path, "b64.json", json.dumps(doc))))
    assert e.value.where == "http_interactions[0].response.body.base64_string"


def test_a_cassette_of_no_interactions_says_so() -> None:
    require_corpus()
    path = CORPUS / "betamax/betamaxpy__betamax/tests/cassettes/test.json"
    (item,) = BETAMAX.read(path)
    assert isinstance(item, Skipped) and "no interactions" in item.why


def _http(doc: Any) -> Any:
    return {"http_interactions": doc["interactions"]} if isinstance(doc, dict) else doc


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=512), suffix=st.sampled_from([".yml", ".json"]))
def test_any_bytes_raise_only_import_format_error(data: bytes, suffix: str, tmp_path: Path) -> None:
    path = write(tmp_path, "fuzz" + suffix, data)
    for reader in READERS:
        read_all(reader, path)


@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=cassettes.map(_http), as_yaml=st.booleans())
def test_any_structure_raises_only_import_format_error(
    doc: Any, as_yaml: bool, tmp_path: Path
) -> None:
    text = yaml.safe_dump(doc) if as_yaml else json.dumps(doc)
    path = write(tmp_path, "fuzz.yml" if as_yaml else "fuzz.json", text)
    for reader in READERS:
        read_all(reader, path)
