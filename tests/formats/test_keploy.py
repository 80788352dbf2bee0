"""Keploy reader: every corpus test set imports and replays; details from hand-picked files."""

from __future__ import annotations

import base64
import gzip
from pathlib import Path

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
from virt.formats.keploy import READER
from virt.model import Interaction, header

FILES = corpus_files("keploy")
GO = "keploy/keploy__samples-go"


def read(path: Path) -> list[Item]:
    return list(READER.read(path))


def interactions(path: Path) -> list[Interaction]:
    return interactions_of(READER, path)


def write(tmp_path: Path, text: str, name: str = "test-1.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", FILES)
def test_corpus_file_imports(path: Path | None) -> None:
    check_file_imports(path, READER, "keploy")


@pytest.mark.parametrize("folder", folder_names("keploy"))
def test_corpus_replays_each_request_to_the_interaction_it_came_from(
    folder: str, tmp_path: Path
) -> None:
    check_folder_replays("keploy", folder, interactions, tmp_path)


def test_http_client_mock_without_a_host_is_served_from_localhost_over_http() -> None:
    mock = interactions(corpus(f"{GO}/http-pokeapi/keploy/test-set-0/mocks.yaml"))[0]
    assert mock.request.url == "http://localhost/api/v2/location-area"
    assert (mock.request.scheme, mock.request.host, mock.request.port) == ("http", "localhost", 80)
    assert mock.request.headers == (
        ("Accept-Encoding", "gzip"),
        ("User-Agent", "Go-http-client/1.1"),
    )
    # the request's own timestamp is Go's zero time: reqTimestampMock dates the mock
    assert mock.recorded_at == "2024-08-02T06:52:03.420Z"


def test_decoded_body_under_a_gzip_header_is_reencoded_at_replay() -> None:
    mock = interactions(corpus(f"{GO}/http-pokeapi/keploy/test-set-0/mocks.yaml"))[0]
    response = mock.response
    assert header(response.headers, "Content-Encoding") == "gzip"
    assert response.encoding == "gzip"
    assert response.wire_body is None
    assert response.body.startswith(
        b'{"count":1054,"next":"https://pokeapi.co/api/v2/location-area?'
    )


def test_test_case_keeps_url_headers_in_order_reason_and_time() -> None:
    (case,) = read(corpus(f"{GO}/http-pokeapi/keploy/test-set-0/tests/test-1.yaml"))
    assert isinstance(case, Interaction)
    assert case.request.url == "http://localhost:8080/api/locations"
    assert case.request.http_version == "HTTP/1.1"
    assert case.response.status == 200
    assert case.response.reason == "OK"
    assert [k for k, _ in case.response.headers][:3] == [
        "Access-Control-Allow-Headers",
        "Access-Control-Allow-Methods",
        "Access-Control-Allow-Origin",
    ]
    assert header(case.response.headers, "Content-Length") == "458"
    assert len(case.response.body) == 458
    assert case.recorded_at == "2024-08-02T06:52:02.451Z"  # +05:30 in the file


def test_request_body_is_kept_as_text_bytes() -> None:
    created = interactions(corpus(f"{GO}/mux-elasticsearch/keploy/test-set-0/mocks.yaml"))[1]
    assert (created.request.method, created.request.path) == ("POST", "/documents/_doc")
    assert created.request.body == b'{"title":"somethingTitle","content":"something22"}'
    assert created.response.status == 201


def test_wire_protocol_mocks_are_skipped_with_their_kind() -> None:
    items = read(corpus("keploy/keploy__samples-python/flask-redis/keploy/test-set-0/mocks.yaml"))
    assert items
    assert {(type(i), i.why) for i in items if isinstance(i, Skipped)} == {
        (Skipped, "not HTTP (Redis)")
    }
    assert all(isinstance(i, Skipped) for i in items)
    assert items[0].where.startswith("document 0 (mock-")  # type: ignore[union-attr]


def test_grpc_test_cases_and_mock_mappings_are_skipped() -> None:
    (grpc,) = read(corpus(f"{GO}/simple-grpc/keploy/test-set-0/tests/test-1.yaml"))
    assert grpc == Skipped("document 0 (test-1)", "not HTTP (gRPC)")
    (mapping,) = read(corpus(f"{GO}/grpc-mongo/keploy/test-set-0/mappings.yaml"))
    assert isinstance(mapping, Skipped)
    assert "TestMocksMapping" in mapping.why


def test_streamed_sse_body_is_joined_into_events_like_the_text_form() -> None:
    (streamed,) = interactions(corpus(f"{GO}/http-sse/keploy/port-config-test/tests/test-7.yaml"))
    (text,) = interactions(corpus(f"{GO}/http-sse/keploy/sse/tests/test-1.yaml"))
    events = streamed.response.body.decode().split("\n\n")
    assert events[-1] == ""  # every event ends with a blank line, the last one too
    assert len(events) - 1 == 16
    assert events[0].startswith('event:TICKER\ndata:[{"message_id":"ticker-1"')
    assert events[1].startswith('event:message\ndata:[{"message_id":"msg-1"')
    # the same shape as a body Keploy kept as text
    first = text.response.body.decode().split("\n\n")[0]
    assert [line.split(":", 1)[0] for line in first.split("\n")] == ["event", "data"]


def test_stream_chunks_rebuild_comments_multiline_data_and_raw_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: api.keploy.io/v1beta1
kind: Http
name: test-1
spec:
  req: {method: GET, url: 'http://example.com/events', header: {}, body: ''}
  resp:
    status_code: 200
    header: {Content-Type: text/event-stream}
    body:
      - ts: "2026-01-01T00:00:00Z"
        data: {comment: keepalive}
      - ts: "2026-01-01T00:00:01Z"
        data: {id: "7", event: update, data: "line one\\nline two"}
---
version: api.keploy.io/v1beta1
kind: Http
name: test-2
spec:
  req: {method: GET, url: 'http://example.com/lines', header: {}, body: ''}
  resp:
    status_code: 200
    header: {Content-Type: application/x-ndjson}
    body:
      - data: {raw: '{"n":1}'}
      - data: {raw: '{"n":2}'}
""",
    )
    sse, ndjson = interactions(path)
    assert sse.response.body == (
        b":keepalive\n\nid:7\nevent:update\ndata:line one\ndata:line two\n\n"
    )
    assert ndjson.response.body == b'{"n":1}\n{"n":2}'


def test_path_only_url_takes_the_host_header_when_there_is_one(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: api.keploy.io/v1beta1
kind: Http
name: mock-0
spec:
  metadata: {type: HTTP_CLIENT}
  req:
    method: get
    url: /v1/items?page=2
    header: {Host: 'api.example.com:8443', Accept: application/json}
    body: ''
  resp: {status_code: 404, header: {}, body: '', status_message: Not Found}
""",
        "mocks.yaml",
    )
    (mock,) = interactions(path)
    assert mock.request.method == "GET"
    assert mock.request.url == "http://api.example.com:8443/v1/items?page=2"
    assert (mock.request.path, mock.request.query) == ("/v1/items", "page=2")
    assert (mock.response.status, mock.response.reason) == (404, "Not Found")
    assert mock.recorded_at == ""


def test_binary_body_in_its_coding_is_taken_as_wire_bytes(tmp_path: Path) -> None:
    wire = gzip.compress(b'{"ok":true}', mtime=0)
    path = write(
        tmp_path,
        f"""version: api.keploy.io/v1beta1
kind: Http
name: mock-0
spec:
  req: {{method: GET, url: 'https://example.com/a', header: {{}}, body: ''}}
  resp:
    status_code: 200
    header: {{Content-Encoding: gzip}}
    body: !!binary {base64.b64encode(wire).decode()}
---
version: api.keploy.io/v1beta1
kind: Http
name: mock-1
spec:
  req: {{method: GET, url: 'https://example.com/b', header: {{}}, body: ''}}
  resp:
    status_code: 200
    header: {{Content-Encoding: gzip}}
    body_base64: {base64.b64encode(wire).decode()}
""",
        "mocks.yaml",
    )
    for mock in interactions(path):
        assert mock.response.body == b'{"ok":true}'
        assert mock.response.encoding == "gzip"
        assert mock.response.wire_body == wire


def test_missing_response_body_is_skipped_not_replayed_empty(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """version: api.keploy.io/v1beta1
kind: Http
name: test-1
spec:
  req: {method: GET, url: 'http://localhost:8080/big', header: {}, body: ''}
  resp: {status_code: 200, header: {}, body: '', body_skipped: true, body_size: 4000000}
""",
    )
    (skipped,) = read(path)
    assert isinstance(skipped, Skipped)
    assert "body_skipped" in skipped.why


@pytest.mark.parametrize(
    ("text", "where", "why"),
    [
        ("kind: Http\nspec: {req: {url: /a}, resp: {status_code: 200}}", "document 0", "method"),
        ("kind: Http\nspec: {req: {method: GET}, resp: {status_code: 200}}", "document 0", "URL"),
        ("kind: Http\nname: t\nspec: {req: {method: GET, url: /}, resp: {}}", "(t)", "status"),
        ("kind: Http\nspec: []", "spec", "mapping"),
        ("- a list\n", "document 0", "mapping"),
        ("a: [unclosed\n", "document 0", "YAML"),
        ("kind: Mongo\n---\nkind: [", "document 1", "YAML"),
    ],
    ids=["no-method", "no-url", "no-status", "spec-list", "not-mapping", "bad-yaml", "bad-2nd"],
)
def test_malformed_documents_name_the_entry(
    tmp_path: Path, text: str, where: str, why: str
) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.path == str(path)
    assert where in e.value.where
    assert why in e.value.why


def test_sniff_claims_keploy_yaml_only(tmp_path: Path) -> None:
    keploy = write(tmp_path, "# Generated by Keploy\nversion: api.keploy.io/v1beta1\nkind: Http\n")
    assert READER.sniff(keploy)
    assert not READER.sniff(write(tmp_path, "version: 2\ninteractions: []\n", "c.yaml"))
    assert not READER.sniff(write(tmp_path, "version: api.keploy.io/v1beta1\n", "t.json"))
    assert not READER.sniff(tmp_path / "missing.yaml")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_keys = st.sampled_from(
    ["kind", "name", "spec", "req", "resp", "method", "url", "header", "body", "status_code",
     "status_message", "timestamp", "body_base64", "body_ref", "body_skipped", "data", "ts"]
)  # fmt: skip
_shaped = st.recursive(
    _scalars | st.sampled_from(["Http", "Mongo", "GET", "/a", "http://h/", 200, 0]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_keys, inner, max_size=5),
    max_leaves=25,
)


@settings(deadline=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "test-1.yaml"
    path.write_bytes(data)
    reads_cleanly(READER, path)


@settings(deadline=None)
@given(docs=st.lists(st.one_of(_values, _shaped), min_size=1, max_size=3))
def test_random_documents_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, docs: list[object]
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "mocks.yaml"
    path.write_text(yaml.safe_dump_all(docs))
    reads_cleanly(READER, path)
