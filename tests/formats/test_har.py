"""HAR: the corpus imports and replays itself, exact details, fuzzing, and export round trips."""

from __future__ import annotations

import base64
import gzip
import hashlib
import json
import tempfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.formats.corpus import (
    CORPUS,
    assert_sane,
    corpus,
    corpus_files,
    corpus_folders,
    interactions_of,
    is_malformed,
    replay_each_file,
)
from virt import encoding
from virt.formats import FORMATS, WRITERS, detect
from virt.formats.base import ImportFormatError, Item, Skipped
from virt.formats.har import READER, WRITER
from virt.formats.mitmflows import READER as MITM_READER
from virt.model import Interaction, Request, Response, header

HAR = "har/mitmproxy__mitmproxy/test/mitmproxy/data"
NO_ENTRIES = {"grafana__har-to-k6/example/page.har"}  # a log of pages only: nothing to import


def read(path: Path) -> list[Item]:
    return list(READER.read(path))


def interactions(path: Path) -> list[Interaction]:
    return interactions_of(READER, path)


def write_har(tmp_path: Path, entries: list[Any], name: str = "x.har") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps({"log": {"version": "1.2", "entries": entries}}))
    return path


def entry(
    url: str = "https://api.example.com/users/1?x=1",
    *,
    status: int = 200,
    request: dict[str, Any] | None = None,
    response: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "startedDateTime": "2024-01-02T03:04:05.678+01:00",
        "time": 12.5,
        "request": {"method": "GET", "url": url, "headers": [], **(request or {})},
        "response": {
            "status": status,
            "statusText": "OK",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"mimeType": "application/json", "text": '{"id": 1}'},
            **(response or {}),
        },
    }


# the corpus


def _corpus_id(path: Path) -> str:
    return path.relative_to(CORPUS / "har").as_posix()


@pytest.mark.parametrize("path", corpus_files("har"))
def test_corpus_file_imports(path: Path | None) -> None:
    assert path is not None, "the recording corpus is missing"
    if is_malformed(path):
        with pytest.raises(ImportFormatError) as e:
            read(path)
        assert str(path) in str(e.value)
        return
    items = read(path)
    if _corpus_id(path) in NO_ENTRIES:
        assert items == []
        return
    assert items, "a recording yields something"
    got = assert_sane(items, path, "har")
    skipped = [i for i in items if isinstance(i, Skipped)]
    if not got:  # request-only files (har-to-k6) say why each entry was passed over
        assert all(s.why.startswith(("no response", "not HTTP")) for s in skipped)
    assert READER.sniff(path)


@pytest.mark.parametrize("folder", corpus_folders("har"))
def test_corpus_replays_to_itself(folder: Path | None, tmp_path: Path) -> None:
    assert folder is not None, "the recording corpus is missing"
    files = sorted(p for p in folder.rglob("*") if p.is_file() and not is_malformed(p))
    replayed = replay_each_file(files, interactions, tmp_path)
    print(f"har/{folder.name}: {replayed} interactions replayed")
    if folder.name != "grafana__har-to-k6":  # request-only HAR: nothing to replay
        assert replayed


# exact details


def test_firefox_export_keeps_versions_statuses_and_binary_bodies() -> None:
    got = interactions(corpus(f"{HAR}/har_files/firefox.har"))
    assert len(got) == 14
    first = got[0]
    assert (first.request.method, first.request.url) == ("GET", "https://mitmproxy.org/")
    assert (first.request.http_version, first.response.status) == ("HTTP/3", 304)
    assert first.response.reason == "Not Modified"
    assert first.recorded_at == "2023-03-29T23:58:59.303Z"
    assert first.response.body.startswith(b"<!DOCTYPE html>")
    icon = got[-1]
    assert icon.request.url == "https://mitmproxy.org/favicon.ico"
    assert icon.response.body.startswith(b"\x00\x00\x01\x00")  # base64 in the file: bytes here


def test_a_bom_prefixed_file_imports() -> None:
    path = corpus(f"{HAR}/har_files/with-bom.har")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    (only,) = interactions(path)
    assert only.request.method == "POST"
    assert json.loads(only.request.body)


def test_zlib_compressed_zhar_imports() -> None:
    path = corpus(f"{HAR}/flows/compressed.zhar")
    assert json.loads(zlib.decompress(path.read_bytes()))["log"]["entries"]
    got = interactions(path)
    assert got[0].request.url == "https://example.com/"
    assert got[0].request.http_version == "HTTP/2.0"
    assert got[0].response.body.startswith(b"<!doctype html>")


def test_text_bodies_are_decoded_even_under_content_encoding() -> None:
    first = interactions(corpus("har/haralyzer__haralyzer/tests/data/humanssuck.net.har"))[0]
    assert header(first.response.headers, "content-encoding") == "gzip"
    assert first.response.body.startswith(b"<!DOCTYPE HTML>")
    assert (first.response.encoding, first.response.wire_body) == ("gzip", None)


def test_a_corrupt_gzip_body_is_kept_as_its_wire_bytes() -> None:
    (only,) = interactions(corpus(f"{HAR}/flows/corrupted_gzip_body.har"))
    assert only.response.body.startswith(b"\x1f\x8b")
    assert len(only.response.body) == 24
    assert only.response.encoding is None  # replay sends these very bytes
    assert header(only.response.headers, "content-encoding") == "gzip"


def test_cody_gzip_chunks_are_decoded_to_the_real_body() -> None:
    path = corpus("har/sourcegraph__cody/agent/recordings/auth_2503977039/recording.har.yaml")
    got = interactions(path)
    first = got[0]
    assert first.request.url == "https://sourcegraph.com/.api/client-config"
    assert first.recorded_at == "2024-12-13T12:57:52.357Z"
    assert first.response.encoding == "gzip"
    assert first.response.wire_body is not None
    assert gzip.decompress(first.response.wire_body) == first.response.body
    assert json.loads(first.response.body)["codyEnabled"] is True
    posts = [i for i in got if i.request.method == "POST"]
    assert posts and all(json.loads(i.request.body) for i in posts)  # textJSON, serialised


def test_polly_hex_chunks_of_an_encoded_body_are_decoded() -> None:
    path = corpus(
        "har/Netflix__pollyjs/examples/node-fetch/recordings/node-fetch_2851505768/"
        "should-work_3457346403/recording.har"
    )
    (only,) = interactions(path)
    assert only.request.url == "https://jsonplaceholder.typicode.com/posts/1"
    assert only.response.encoding == "gzip"
    assert json.loads(only.response.body)["userId"] == 1


def test_a_bare_entry_without_a_log_imports() -> None:
    (only,) = interactions(corpus("har/haralyzer__haralyzer/tests/data/single_entry.har"))
    assert only.request.url == "http://humanssuck.net/"
    assert only.response.status == 200


def test_a_log_wrapped_in_another_object_imports() -> None:
    (only,) = interactions(corpus(f"{HAR}/har_extractor.har"))
    assert only.request.url == "http://address:22/path"
    assert only.request.port == 22
    assert header(only.request.headers, "header") == "qvalue"
    assert only.response.reason == "OK"


def test_unanswered_entries_are_skipped_with_the_reason() -> None:
    items = read(corpus(f"{HAR}/flows/error_log.har"))
    skipped, answered = items
    assert isinstance(skipped, Skipped) and skipped.where == "log.entries[0]"
    assert skipped.why.startswith("no response: Multiple exceptions")
    assert isinstance(answered, Interaction) and answered.response.status == 405


def test_request_only_entries_are_skipped() -> None:
    items = read(corpus("har/grafana__har-to-k6/example/pseudo-headers.har"))
    assert items == [Skipped("log.entries[0]", "no response")]


def test_websocket_entries_import_their_handshake() -> None:
    got = interactions(corpus(f"{HAR}/flows/websocket.har"))
    assert [i.response.status for i in got] == [101, 101, 101]
    assert all(i.request.scheme == "https" for i in got)


def test_a_websocket_entry_without_a_handshake_response_is_not_http(tmp_path: Path) -> None:
    ws = entry("wss://ws.example.com/socket", status=0)
    ws["_webSocketMessages"] = [{"type": "send", "time": 1, "opcode": 1, "data": "hi"}]
    answered = entry("wss://ws.example.com/socket", status=101)
    answered["_webSocketMessages"] = []
    skipped, handshake = read(write_har(tmp_path, [ws, answered]))
    assert isinstance(skipped, Skipped) and skipped.why.startswith("not HTTP")
    assert isinstance(handshake, Interaction)
    assert (handshake.request.scheme, handshake.request.port) == ("https", 443)


def test_pseudo_headers_are_dropped(tmp_path: Path) -> None:
    headers = [
        {"name": ":authority", "value": "api.example.com"},
        {"name": "accept", "value": "*/*"},
        {"name": ":path", "value": "/users/1"},
        {"name": "accept", "value": "text/plain"},
    ]
    (only,) = interactions(write_har(tmp_path, [entry(request={"headers": headers})]))
    assert only.request.headers == (("accept", "*/*"), ("accept", "text/plain"))


def test_form_params_without_text_become_an_urlencoded_body_in_order(tmp_path: Path) -> None:
    post = {
        "mimeType": "application/x-www-form-urlencoded",
        "params": [
            {"name": "b", "value": "2"},
            {"name": "a", "value": "x y&z"},
            {"name": "b", "value": "1"},
        ],
    }
    (only,) = interactions(
        write_har(tmp_path, [entry(request={"method": "POST", "postData": post})])
    )
    assert only.request.body == b"b=2&a=x+y%26z&b=1"


def test_post_text_in_base64_is_bytes(tmp_path: Path) -> None:
    post = {"mimeType": "application/octet-stream", "text": "AAEC/w==", "encoding": "base64"}
    (only,) = interactions(
        write_har(tmp_path, [entry(request={"method": "PUT", "postData": post})])
    )
    assert only.request.body == b"\x00\x01\x02\xff"


def test_text_is_encoded_in_the_charset_its_type_names(tmp_path: Path) -> None:
    content = {"mimeType": "text/plain; charset=iso-8859-1", "text": "café"}
    (only,) = interactions(write_har(tmp_path, [entry(response={"content": content})]))
    assert only.response.body == b"caf\xe9"


def test_a_missing_query_comes_from_query_string(tmp_path: Path) -> None:
    query = [{"name": "q", "value": "a b"}, {"name": "page", "value": "2"}]
    e = entry("https://api.example.com/search", request={"queryString": query})
    (only,) = interactions(write_har(tmp_path, [e]))
    assert only.request.target == "/search?q=a+b&page=2"


def test_entries_stream_one_at_a_time(tmp_path: Path) -> None:
    # the tail of the file is broken: the entries before it are yielded before the parser
    # ever reaches it
    path = tmp_path / "big.har"
    body = json.dumps({"log": {"entries": [entry(), entry()]}})
    path.write_text(body[: -len("]}}")] + ", {oops")
    items = READER.read(path)
    assert isinstance(next(items), Interaction)
    assert isinstance(next(items), Interaction)
    with pytest.raises(ImportFormatError, match="not valid JSON") as e:
        next(items)
    assert e.value.where == "log.entries[2]"


def test_errors_name_the_entry_that_broke(tmp_path: Path) -> None:
    path = write_har(tmp_path, [entry(), entry(status=999)])
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.where == "log.entries[1].response.status"
    assert "999" in e.value.why
    assert str(e.value).startswith(str(path))


@pytest.mark.parametrize(
    ("document", "where"),
    [
        ({"log": []}, "log"),
        ({"log": {"entries": {}}}, "log.entries"),
        ({"log": {"entries": [1]}}, "log.entries[0]"),
        (
            {"log": {"entries": [{"request": {}, "response": {"status": 200}}]}},
            "log.entries[0].request.url",
        ),
        ({"log": {"entries": [entry(request={"headers": "x"})]}}, "log.entries[0].request.headers"),
        ({"log": {"entries": [entry(url="/relative")]}}, "log.entries[0].request.url"),
        ({"log": {"entries": [entry(), entry(status=0), entry(status=-1), "x"]}}, "log.entries[3]"),
        ([1, 2], ""),
        ("just a string", ""),
    ],
)
def test_malformed_documents_raise_import_format_error(
    tmp_path: Path, document: Any, where: str
) -> None:
    path = tmp_path / "bad.har"
    path.write_text(json.dumps(document))
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.where == where
    assert e.value.why


def test_urls_of_other_schemes_are_not_http(tmp_path: Path) -> None:
    items = read(write_har(tmp_path, [entry("data:text/plain,hi"), entry()]))
    assert items[0] == Skipped("log.entries[0]", "not HTTP: a data: URL")
    assert isinstance(items[1], Interaction)


def test_sniff_claims_har_by_name_and_by_content(tmp_path: Path) -> None:
    json_har = tmp_path / "export.json"
    json_har.write_text(json.dumps({"log": {"entries": []}}))
    other = tmp_path / "cassette.json"
    other.write_text(json.dumps({"interactions": []}))
    yaml_har = tmp_path / "recording.yaml"
    yaml_har.write_text("log:\n  entries: []\n")
    compressed = tmp_path / "export.bin"
    compressed.write_bytes(zlib.compress(json.dumps({"log": {"entries": []}}).encode()))
    assert READER.sniff(json_har) and READER.sniff(yaml_har) and READER.sniff(compressed)
    assert not READER.sniff(other)
    assert not READER.sniff(tmp_path / "missing.json")
    assert detect(json_har) is READER


def test_registered_as_reader_and_writer() -> None:
    assert FORMATS["har"] is READER
    assert WRITERS["har"] is WRITER


# fuzzing


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048), name=st.sampled_from(["x.har", "x.zhar", "x.har.yaml"]))
def test_any_bytes_raise_only_import_format_error(data: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        try:
            for item in READER.read(path):
                assert isinstance(item, Interaction | Skipped)
        except ImportFormatError:
            pass


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_keys = st.sampled_from(
    ["request", "response", "method", "url", "status", "headers", "content", "text", "postData",
     "encoding", "params", "name", "value", "queryString", "startedDateTime", "mimeType"]
)  # fmt: skip
_har_like = st.recursive(
    _json,
    lambda inner: st.dictionaries(_keys, inner, max_size=5) | st.lists(inner, max_size=3),
    max_leaves=20,
)


_FIELDS = [
    ("request",), ("response",), ("startedDateTime",), ("time",),
    ("request", "method"), ("request", "url"), ("request", "headers"), ("request", "httpVersion"),
    ("request", "queryString"), ("request", "postData"),
    ("response", "status"), ("response", "statusText"), ("response", "headers"),
    ("response", "content"), ("response", "httpVersion"),
]  # fmt: skip
_post_or_content = st.fixed_dictionaries(
    {},
    optional={
        "text": _json | st.text(max_size=12) | st.just('["H4sI"]') | st.just('["1f8b"]'),
        "encoding": st.sampled_from(["base64", "utf-8", ""]) | _json,
        "mimeType": st.sampled_from(
            ["text/plain; charset=latin-1", "multipart/form-data; boundary=b"]
        ),
        "params": st.lists(st.dictionaries(_keys, _json, max_size=3), max_size=3) | _json,
        "textJSON": _json,
    },
)


@st.composite
def _mutated_entry(draw: st.DrawFn) -> dict[str, Any]:
    """A valid entry with a few fields replaced by anything at all."""
    e = entry(response={"headers": [{"name": "Content-Encoding", "value": "gzip"}]})
    for path in draw(st.lists(st.sampled_from(_FIELDS), max_size=3)):
        *parents, last = path
        target: Any = e
        for key in parents:
            target = target.get(key) if isinstance(target, dict) else None
        if isinstance(target, dict):
            target[last] = draw(_post_or_content if last in ("postData", "content") else _json)
    return e


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=st.lists(_har_like | _mutated_entry(), max_size=4), as_yaml=st.booleans())
def test_any_structure_raises_only_import_format_error(entries: list[Any], as_yaml: bool) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / ("x.har.yaml" if as_yaml else "x.har")
        path.write_text(json.dumps({"log": {"entries": entries}}))  # JSON is YAML too
        try:
            for item in READER.read(path):
                assert isinstance(item, Interaction | Skipped)
        except ImportFormatError:
            pass


# export


def _roundtrip_key(i: Interaction) -> tuple[Any, ...]:
    return (
        i.request.method,
        i.request.url,
        i.request.body,
        i.response.status,
        i.response.headers,
        i.response.body,
    )


def _exportable() -> list[Any]:
    params = [
        p for p in corpus_files("har") if p.values[0] is None or not is_malformed(p.values[0])
    ]
    return params + corpus_files("mitmproxy-flows")


@pytest.mark.parametrize("path", _exportable())
def test_corpus_export_then_import_keeps_every_interaction(
    path: Path | None, tmp_path: Path
) -> None:
    assert path is not None, "the recording corpus is missing"
    reader = MITM_READER if MITM_READER.sniff(path) else READER
    original = [i for i in reader.read(path) if isinstance(i, Interaction)]
    out = tmp_path / "export.har"
    assert WRITER.write(original, out) == len(original)
    back = interactions(out)
    assert [_roundtrip_key(i) for i in back] == [_roundtrip_key(i) for i in original]
    assert [i.request.headers for i in back] == [i.request.headers for i in original]
    assert [i.response.encoding for i in back] == [i.response.encoding for i in original]


def test_export_writes_har_1_2(tmp_path: Path) -> None:
    request = Request(
        "POST",
        "https",
        "api.example.com",
        8443,
        "/items",
        "tag=a&tag=b&empty=",
        (("Content-Type", "application/json"), ("X-Trace", "1"), ("X-Trace", "2")),
        b'{"name": "caf\xc3\xa9"}',
    )
    response = Response(
        201,
        "Created",
        (("Content-Type", "image/png"), ("Location", "/items/7")),
        b"\x89PNG\r\n\x1a\n\x00\xff",
    )
    interaction = Interaction(request, response, recorded_at="2024-05-06T07:08:09.123Z")
    out = tmp_path / "out.har"
    assert WRITER.write([interaction], out) == 1
    log = json.loads(out.read_text())["log"]
    assert log["version"] == "1.2"
    assert log["creator"]["name"] == "virt" and log["creator"]["version"]
    (e,) = log["entries"]
    assert e["startedDateTime"] == "2024-05-06T07:08:09.123Z"
    assert e["request"]["url"] == "https://api.example.com:8443/items?tag=a&tag=b&empty="
    assert e["request"]["queryString"] == [
        {"name": "tag", "value": "a"},
        {"name": "tag", "value": "b"},
        {"name": "empty", "value": ""},
    ]
    assert [h["value"] for h in e["request"]["headers"] if h["name"] == "X-Trace"] == ["1", "2"]
    assert e["request"]["postData"] == {
        "mimeType": "application/json",
        "params": [],
        "text": '{"name": "café"}',
    }
    content = e["response"]["content"]
    assert content["encoding"] == "base64"
    assert base64.b64decode(content["text"]) == response.body
    assert e["response"]["redirectURL"] == "/items/7"
    (back,) = interactions(out)
    assert _roundtrip_key(back) == _roundtrip_key(interaction)
    assert back.request.headers == request.headers


def test_export_to_zhar_is_zlib_compressed(tmp_path: Path) -> None:
    original = interactions(corpus(f"{HAR}/flows/successful_log.har"))
    out = tmp_path / "out.zhar"
    WRITER.write(original, out)
    assert json.loads(zlib.decompress(out.read_bytes()))["log"]["entries"]
    assert [_roundtrip_key(i) for i in interactions(out)] == [_roundtrip_key(i) for i in original]


def test_a_failed_export_leaves_no_file(tmp_path: Path) -> None:
    def broken() -> Iterator[Interaction]:
        yield Interaction(Request("GET", "http", "a.test", 80, "/"), Response(200))
        raise RuntimeError("the store went away")

    out = tmp_path / "out.har"
    with pytest.raises(RuntimeError):
        WRITER.write(broken(), out)
    assert list(tmp_path.iterdir()) == []


_header_text = st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=12)
_headers = st.lists(
    st.tuples(st.sampled_from(["X-A", "x-a", "Set-Cookie", "Vary"]), _header_text), max_size=5
)
_bodies = st.one_of(
    st.binary(max_size=64),
    st.text(max_size=32).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.just(b"\x1f\x8b\x08\x00 not really gzip"),
    st.just(b'["1f8b0800", "ff"]'),  # looks like Polly's hex chunks of an encoded body
)


@st.composite
def _interactions(draw: st.DrawFn) -> Interaction:
    coding = draw(st.sampled_from([None, "gzip", "br", "deflate", "corrupt"]))
    body = draw(_bodies)
    if coding not in (None, "corrupt") and not body:
        # an empty body carries no coding in virt (an empty 304 must not replay as a gzip
        # stream), so an encoded empty body cannot come out of capture or import
        coding = None
    response_headers = tuple(draw(_headers))
    wire_body = None
    if coding == "corrupt":  # a body that did not decode is kept as it was sent
        coding, body = None, draw(st.sampled_from([b"", b"not brotli at all", b"\x1f\x8b bad"]))
        response_headers += (("Content-Encoding", draw(st.sampled_from(["br", "gzip"]))),)
    elif coding is not None:
        response_headers += (("Content-Encoding", coding),)
        wire_body = encoding.encode(body, coding)
    content_type = draw(
        st.sampled_from(["application/json", "text/html; charset=utf-8", "image/png"])
    )
    request = Request(
        draw(st.sampled_from(["GET", "POST", "PUT"])),
        draw(st.sampled_from(["http", "https"])),
        "api.example.com",
        draw(st.sampled_from([80, 443, 8080])),
        "/" + draw(st.text("abc/é", max_size=8)),
        draw(st.sampled_from(["", "a=1", "a=1&a=2&b="])),
        tuple(draw(_headers)),
        draw(_bodies),
    )
    response = Response(
        draw(st.integers(100, 599)),
        draw(st.sampled_from(["", "OK", "Not Found"])),
        (("Content-Type", content_type), *response_headers),
        body,
        coding,
        wire_body,
    )
    return Interaction(request, response, recorded_at="2024-01-01T00:00:00.000Z")


@settings(deadline=None, max_examples=60, suppress_health_check=[HealthCheck.too_slow])
@given(original=st.lists(_interactions(), min_size=1, max_size=4))
def test_export_then_import_keeps_tricky_interactions(original: list[Interaction]) -> None:
    with tempfile.TemporaryDirectory() as d:
        out = Path(d) / "out.har"
        WRITER.write(original, out)
        back = interactions(out)
    assert [_roundtrip_key(i) for i in back] == [_roundtrip_key(i) for i in original]
    assert [i.request.headers for i in back] == [i.request.headers for i in original]
    assert [i.recorded_at for i in back] == [i.recorded_at for i in original]
    assert [i.response.encoding for i in back] == [i.response.encoding for i in original]


def test_a_base64_body_is_the_exact_bytes() -> None:
    path = corpus(f"{HAR}/har_files/safari.har")
    raw = json.loads(path.read_text())["log"]["entries"]
    n, stored = next(
        (n, e["response"]["content"])
        for n, e in enumerate(raw)
        if e["response"]["content"].get("encoding") == "base64"
    )
    expected = hashlib.sha256(base64.b64decode(stored["text"])).hexdigest()
    got = interactions(path)[n]
    assert hashlib.sha256(got.response.body).hexdigest() == expected
    assert got.request.url == raw[n]["request"]["url"]


@pytest.mark.parametrize("opener", [b"[", b'{"a":'])
def test_json_nested_past_the_limit_is_refused_without_building_its_paths(
    tmp_path: Path, opener: bytes
) -> None:
    """50,000 levels in 100 KB: ijson's prefixes alone would take gigabytes (#13)."""
    closer = b"]" if opener == b"[" else b"}"
    path = tmp_path / "deep.har"
    path.write_bytes(b'{"log": {"entries": [' + opener * 50_000 + closer * 50_000 + b"]}}")
    with pytest.raises(ImportFormatError, match="nested more than 100 levels") as raised:
        list(READER.read(path))
    assert raised.value.where == "log.entries[0]"
