"""httpreplay reader: every go-cloud log imports and replays; details from hand-picked files."""

from __future__ import annotations

import base64
import gzip
import json
import struct
from email import message_from_bytes
from email.message import Message
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
from virt.formats.httpreplay import READER
from virt.model import Interaction, header

FILES = corpus_files("httpreplay")
GO_CLOUD = "httpreplay/google__go-cloud"


def read(path: Path) -> list[Item]:
    return list(READER.read(path))


def interactions(path: Path) -> list[Interaction]:
    return interactions_of(READER, path)


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def entry(**response: Any) -> dict[str, Any]:
    return {
        "ID": "1",
        "Request": {
            "Method": "GET",
            "URL": "https://storage.example.com/b/o?alt=json",
            "Header": {"Accept-Encoding": ["gzip"]},
            "MediaType": "",
            "BodyParts": [None],
        },
        "Response": {
            "StatusCode": 200,
            "Proto": "HTTP/1.1",
            "ProtoMajor": 1,
            "ProtoMinor": 1,
            "Header": {},
            "Body": "",
            **response,
        },
    }


def log(tmp_path: Path, entries: Any, **top: Any) -> Path:
    path = tmp_path / "test.replay"
    path.write_text(
        json.dumps({"Initial": "", "Version": "0.2", "Converter": {}, **top, "Entries": entries})
    )
    return path


@pytest.mark.parametrize("path", FILES)
def test_corpus_file_imports(path: Path | None) -> None:
    check_file_imports(path, READER, "httpreplay")


@pytest.mark.parametrize("folder", folder_names("httpreplay"))
def test_corpus_replays_each_request_to_the_interaction_it_came_from(
    folder: str, tmp_path: Path
) -> None:
    check_folder_replays("httpreplay", folder, interactions, tmp_path)


def test_upload_and_download_keep_bodies_headers_and_start_time() -> None:
    put, get, *_ = interactions(
        corpus(f"{GO_CLOUD}/blob/s3blob/testdata/TestConformance/TestUploadDownload.replay")
    )
    assert put.request.method == "PUT"
    assert put.request.url == (
        "https://go-cloud-testing-2.s3.us-west-1.amazonaws.com/"
        "blob-for-upload-download?x-id=PutObject"
    )
    # aws-chunked is no coding virt knows: the body is kept as the client framed it
    assert put.request.body == (b"b\r\nup and down\r\n0\r\nx-amz-checksum-crc32:OJ3ylA==\r\n\r\n")
    assert put.request.encoding is None
    assert put.request.headers[:2] == (
        ("Accept-Encoding", "identity"),
        ("Amz-Sdk-Invocation-Id", "CLEARED"),
    )
    assert header(put.request.headers, "Content-Type") == "text"  # from MediaType
    assert get.request.body == b""
    assert get.response.status == 200
    assert get.response.body == b"up and down"
    assert header(get.response.headers, "Content-Length") == "11"
    # Initial holds the test's start time as Go's time.MarshalBinary
    assert put.recorded_at == get.recorded_at == "2026-06-02T18:30:48.134Z"


def test_gzip_response_the_client_asked_for_is_kept_as_wire_bytes() -> None:
    path = corpus(
        f"{GO_CLOUD}/runtimevar/awsparamstore/testdata/TestConformance/TestAs/verify_As.replay"
    )
    encoded = [i for i in interactions(path) if i.response.encoding]
    assert encoded
    response = encoded[0].response
    assert response.encoding == "gzip"
    assert response.wire_body is not None and response.wire_body[:2] == b"\x1f\x8b"
    assert gzip.decompress(response.wire_body) == response.body
    assert response.body == b'{"__type":"ParameterNotFound"}'


def test_multipart_parts_are_rebuilt_into_a_parseable_body() -> None:
    path = corpus(
        f"{GO_CLOUD}/blob/gcsblob/testdata/TestConformance/TestList/PaginationConsistencyAfterInsert.replay"
    )
    upload = next(i for i in interactions(path) if i.request.method == "POST")
    content_type = header(upload.request.headers, "Content-Type")
    assert content_type is not None and content_type.startswith("multipart/related; boundary=")
    message = message_from_bytes(
        f"Content-Type: {content_type}\r\n\r\n".encode() + upload.request.body
    )
    parts = message.get_payload()
    assert isinstance(parts, list)
    assert [_payload(p) for p in parts if isinstance(p, Message)] == [
        b'{"bucket":"go-cloud-blob-test-bucket","contentType":"text/plain; charset=utf-8",'
        b'"crc32c":"mnG7TA==","md5Hash":"XUFAKrxLKna5cZ2REBfFkg==","name":"blob-for-list-0a"}\n',
        b"hello",
    ]
    # the same parts give the same body on every import
    again = next(i for i in interactions(path) if i.request.method == "POST")
    assert again.request.body == upload.request.body


def _payload(part: Message) -> bytes:
    payload = part.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload


def test_log_without_entries_is_one_skipped_entry() -> None:
    path = corpus(
        f"{GO_CLOUD}/blob/s3blob/testdata/TestConformance/TestMetadata/empty_key_fails.replay"
    )
    assert read(path) == [Skipped("Entries", "the log holds no entries")]


def test_identity_coding_and_multiple_body_parts(tmp_path: Path) -> None:
    one = entry(Header={"Content-Encoding": ["identity"]}, Body=b64(b"plain"))
    one["Request"]["BodyParts"] = [b64(b"ab"), b64(b"cd")]
    one["Request"]["MediaType"] = "application/json"
    one["Request"]["Header"]["Content-Type"] = ["application/json; charset=utf-8"]
    (item,) = interactions(log(tmp_path, [one]))
    assert item.request.body == b"abcd"
    assert header(item.request.headers, "Content-Type") == "application/json; charset=utf-8"
    assert item.response.body == b"plain"
    assert item.response.encoding is None


def test_gzip_header_over_decoded_bytes_is_reencoded_at_replay(tmp_path: Path) -> None:
    (item,) = interactions(
        log(tmp_path, [entry(Header={"Content-Encoding": ["gzip"]}, Body=b64(b"decoded"))])
    )
    assert item.response.body == b"decoded"
    assert item.response.encoding == "gzip"
    assert item.response.wire_body is None


def test_entry_without_response_is_skipped(tmp_path: Path) -> None:
    missing = entry()
    missing["Response"] = None
    assert read(log(tmp_path, [missing])) == [Skipped("Entries[0]", "no response recorded")]


def test_initial_that_is_not_a_time_leaves_recorded_at_empty(tmp_path: Path) -> None:
    (item,) = interactions(log(tmp_path, [entry()], Initial=b64(b"seed")))
    assert item.recorded_at == ""
    # 2000-01-01T00:00:00.5Z: seconds since Go's year 1 (946684800 + 62135596800), UTC zone
    go_time = struct.pack(">bqih", 1, 63_082_281_600, 500_000_000, -1)
    (item,) = interactions(log(tmp_path, [entry()], Initial=b64(go_time)))
    assert item.recorded_at == "2000-01-01T00:00:00.500Z"


def test_newer_log_version_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(ImportFormatError) as e:
        read(log(tmp_path, [entry()], Version="0.3"))
    assert e.value.where == "Version"
    assert "newer httpreplay (log version 0.3" in e.value.why


@pytest.mark.parametrize(
    ("change", "where", "why"),
    [
        (lambda e: e["Request"].update(Method=None), "Entries[0].Request.Method", "method"),
        (lambda e: e["Request"].update(URL="/rel"), "Entries[0].Request.URL", "host"),
        (lambda e: e["Request"].update(BodyParts=["%%%"]), "BodyParts[0]", "base64"),
        (lambda e: e["Request"].update(Header={"A": [1]}), "Request.Header.A", "text"),
        (lambda e: e["Response"].update(StatusCode="200"), "Response.StatusCode", "status"),
        (lambda e: e["Response"].update(Body=7), "Entries[0].Response.Body", "base64"),
        (lambda e: e.update(Request=[]), "Entries[0].Request", "object"),
    ],
    ids=["method", "url", "part", "header", "status", "body", "request"],
)
def test_malformed_entries_name_the_entry(
    tmp_path: Path, change: Any, where: str, why: str
) -> None:
    bad = entry()
    change(bad)
    path = log(tmp_path, [bad])
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.path == str(path)
    assert where in e.value.where
    assert why in e.value.why


def test_sniff_claims_httpreplay_logs_only(tmp_path: Path) -> None:
    assert READER.sniff(log(tmp_path, []))
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"log": {"version": "1.2", "entries": []}}))
    assert not READER.sniff(other)
    other.write_text(json.dumps([{"scope": "https://a", "Entries": []}]))
    assert not READER.sniff(other)
    assert not READER.sniff(tmp_path / "missing.replay")


_scalars = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20)
_values = st.recursive(
    _scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
_b64 = st.binary(max_size=30).map(b64)
_headers = st.dictionaries(st.text(max_size=8), st.lists(st.text(max_size=8), max_size=2) | _values)
_request = st.fixed_dictionaries(
    {},
    optional={
        "Method": st.sampled_from(["GET", "post"]) | _scalars,
        "URL": st.sampled_from(["https://a.example/x?y=1", "/rel", "http://[::1"]) | _scalars,
        "Header": _headers | _values,
        "MediaType": st.sampled_from(["", "multipart/related", "text"]) | _scalars,
        "BodyParts": st.lists(_b64 | st.none(), max_size=3) | _values,
    },
)
_response = st.fixed_dictionaries(
    {},
    optional={
        "StatusCode": st.integers(-5, 1200) | _scalars,
        "Proto": st.sampled_from(["HTTP/1.1", "x"]) | _scalars,
        "Header": _headers | _values,
        "Body": _b64 | _values,
    },
)
_logs = st.fixed_dictionaries(
    {
        "Entries": st.lists(
            st.fixed_dictionaries({"Request": _request, "Response": _response | st.none()})
            | _values,
            max_size=3,
        )
        | _values
    },
    optional={
        "Version": st.sampled_from(["0.2", "0.1", "1.0", "x"]) | _scalars,
        "Initial": _b64 | _values,
    },
)


@settings(deadline=None)
@given(data=st.binary(max_size=2048))
def test_random_bytes_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, data: bytes
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "test.replay"
    path.write_bytes(data)
    reads_cleanly(READER, path)


@settings(deadline=None)
@given(value=_logs | _values)
def test_random_logs_raise_only_import_format_error(
    tmp_path_factory: pytest.TempPathFactory, value: Any
) -> None:
    path = tmp_path_factory.mktemp("fuzz") / "test.replay"
    path.write_text(json.dumps(value))
    reads_cleanly(READER, path)
