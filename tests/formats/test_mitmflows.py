"""mitmproxy dumps: the corpus imports and replays itself, exact details, flow types, fuzzing."""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mitmproxy import flow, http
from mitmproxy.io import FlowWriter, tnetstring
from mitmproxy.test import tflow

from tests.formats.corpus import (
    assert_sane,
    corpus,
    corpus_files,
    corpus_folders,
    interactions_of,
    replay_each_file,
)
from virt.formats import FORMATS, detect
from virt.formats.base import ImportFormatError, Item, Skipped
from virt.formats.mitmflows import READER
from virt.mitm.convert import to_interaction
from virt.model import Interaction, header

DATA = "mitmproxy-flows/mitmproxy__mitmproxy/test/mitmproxy/data"


def read(path: Path) -> list[Item]:
    return list(READER.read(path))


def interactions(path: Path) -> list[Interaction]:
    return interactions_of(READER, path)


def dump(path: Path, *flows: flow.Flow) -> Path:
    with path.open("wb") as f:
        writer = FlowWriter(f)
        for one in flows:
            writer.add(one)
    return path


# the corpus


@pytest.mark.parametrize("path", corpus_files("mitmproxy-flows"))
def test_corpus_file_imports(path: Path | None) -> None:
    assert path is not None, "the recording corpus is missing"
    items = read(path)
    assert items, "a dump yields something"
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert all(s.why.startswith(("no response", "not HTTP")) for s in skipped)
    for interaction in assert_sane(items, path, "mitmproxy"):
        assert interaction.session == f"import:{path.name}"
    assert READER.sniff(path)
    assert detect(path) is READER


@pytest.mark.parametrize("folder", corpus_folders("mitmproxy-flows"))
def test_corpus_replays_to_itself(folder: Path | None, tmp_path: Path) -> None:
    assert folder is not None, "the recording corpus is missing"
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    replayed = replay_each_file(files, interactions, tmp_path)
    print(f"mitmproxy-flows/{folder.name}: {replayed} interactions replayed")
    assert replayed


# exact details


def test_a_dump_older_than_mitmproxy_migrates_is_raised_to_one_it_does() -> None:
    # flow format 0.10: mitmproxy itself refuses it; virt converts it to 0.11 first
    (only,) = read(corpus(f"{DATA}/dumpfile-010.mitm"))
    assert isinstance(only, Interaction)
    assert (only.request.method, only.request.url) == ("GET", "http://example.com/")
    assert header(only.request.headers, "X-Requested-With") == "com.android.browser"
    assert (only.response.status, only.response.reason) == (200, "OK")
    assert only.response.encoding == "gzip"
    assert only.response.wire_body is not None
    assert gzip.decompress(only.response.wire_body) == only.response.body
    assert only.response.body.startswith(b"<!doctype html>")
    assert only.recorded_at == "2016-07-08T21:54:09.988Z"


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("dumpfile-011.mitm", "https://example.com/"),
        ("dumpfile-018.mitm", "https://www.example.com/"),
        ("dumpfile-7.mitm", "http://example.com/"),
        ("dumpfile-19.mitm", "https://cloudflare-quic.com/"),
    ],
)
def test_every_flow_format_version_imports(name: str, url: str) -> None:
    got = interactions(corpus(f"{DATA}/{name}"))
    assert got[0].request.url == url
    assert got[0].response.status == 200
    assert got[0].timings is not None and got[0].timings.duration_ms is not None


def test_websocket_flows_import_their_handshake() -> None:
    items = read(corpus(f"{DATA}/dumpfile-7-websocket.mitm"))
    got = [i for i in items if isinstance(i, Interaction)]
    assert [i.response.status for i in got] == [101] * 5
    assert header(got[0].request.headers, "Upgrade") == "websocket"
    # a websocket flow whose handshake was lost (mitmproxy migrates it with a dummy request)
    (skipped,) = [i for i in items if isinstance(i, Skipped)]
    assert skipped.where.startswith("flow 2 ")
    assert skipped.why.startswith("not HTTP")


def test_flows_without_a_response_are_skipped_with_the_reason() -> None:
    first, second = read(corpus(f"{DATA}/flows/error_log.mitm"))
    assert isinstance(first, Skipped) and first.where == "flow 0 (byte 0)"
    assert first.why.startswith("no response: Multiple exceptions")
    assert isinstance(second, Interaction)
    assert (second.request.method, second.response.status) == ("POST", 405)


def test_a_corrupt_gzip_body_is_imported_as_its_wire_bytes() -> None:
    (only,) = read(corpus(f"{DATA}/flows/corrupted_gzip_body.mitm"))
    assert isinstance(only, Interaction)
    assert only.response.body.startswith(b"\x1f\x8b") and len(only.response.body) == 24
    assert only.response.encoding is None
    assert header(only.response.headers, "Content-Encoding") == "gzip"


def test_an_http_flow_becomes_what_the_recorder_would_store(tmp_path: Path) -> None:
    one = tflow.tflow(resp=True)
    (got,) = read(dump(tmp_path / "one.mitm", one))
    assert isinstance(got, Interaction)
    expected = to_interaction(one, session="import:one.mitm")
    assert got.request == expected.request and got.response == expected.response
    assert got.recorded_at == expected.recorded_at
    assert (got.source, got.source_format) == (str(tmp_path / "one.mitm"), "mitmproxy")


def test_flows_of_other_protocols_are_not_http(tmp_path: Path) -> None:
    path = dump(
        tmp_path / "mixed.flows",
        tflow.ttcpflow(),
        tflow.tudpflow(),
        tflow.tdnsflow(),
        tflow.twebsocketflow(),
        tflow.tflow(),
    )
    tcp, udp, dns, ws, unanswered = read(path)
    assert tcp == Skipped("flow 0 (byte 0)", "not HTTP: a tcp flow")
    assert isinstance(udp, Skipped) and udp.why == "not HTTP: a udp flow"
    assert isinstance(dns, Skipped) and dns.why == "not HTTP: a dns flow"
    assert isinstance(ws, Interaction) and ws.response.status == 101  # the handshake
    assert isinstance(unanswered, Skipped) and unanswered.why == "no response"


def test_connect_tunnels_are_not_http(tmp_path: Path) -> None:
    connect = tflow.tflow(resp=True)
    connect.request.method = "CONNECT"
    (got,) = read(dump(tmp_path / "connect.mitm", connect))
    assert got == Skipped("flow 0 (byte 0)", "not HTTP: a CONNECT tunnel")


def test_a_corrupt_file_names_the_flow_that_broke(tmp_path: Path) -> None:
    path = dump(tmp_path / "cut.mitm", tflow.tflow(resp=True), tflow.tflow(resp=True))
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 40])
    items = READER.read(path)
    assert isinstance(next(items), Interaction)  # read before the damage is reached
    with pytest.raises(ImportFormatError) as e:
        next(items)
    assert e.value.where.startswith("flow 1 (byte ")
    assert str(e.value).startswith(str(path))


def test_a_flow_format_newer_than_mitmproxy_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "future.mitm"
    path.write_bytes(tnetstring.dumps({"version": 9999, "type": "http"}))
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.where == "flow 0 (byte 0)"
    assert "upgrade" in e.value.hint


def test_a_flow_format_older_than_any_migration_is_refused_by_name(tmp_path: Path) -> None:
    path = tmp_path / "ancient.mitm"
    path.write_bytes(tnetstring.dumps({b"version": [0, 9], b"request": {}}))
    with pytest.raises(ImportFormatError, match=r"\(0, 9\)") as e:
        read(path)
    assert "predates" in e.value.hint


@pytest.mark.parametrize(
    "record",
    [
        {b"version": [0, 10]},  # a 0.10 record without its request
        {b"version": 21, b"type": b"http"},  # byte-string keys mitmproxy would loop on
        {"version": 21, "type": "http"},  # the current version, and nothing else
        {"version": 7, "type": "http", "request": None},
        [1, 2, 3],
        b"not a dictionary",
    ],
)
def test_malformed_records_raise_import_format_error(tmp_path: Path, record: Any) -> None:
    path = tmp_path / "bad.mitm"
    path.write_bytes(tnetstring.dumps(record))
    with pytest.raises(ImportFormatError) as e:
        read(path)
    assert e.value.where == "flow 0 (byte 0)"


def test_a_har_file_is_told_apart_from_a_dump(tmp_path: Path) -> None:
    path = tmp_path / "export.mitm"
    path.write_text(json.dumps({"log": {"entries": []}}))
    with pytest.raises(ImportFormatError, match="import it as har") as e:
        read(path)
    assert e.value.where == "flow 0 (byte 0)"


def test_an_empty_dump_has_nothing_to_import(tmp_path: Path) -> None:
    path = tmp_path / "empty.mitm"
    path.write_bytes(b"")
    assert read(path) == []


def test_sniff_claims_dumps_by_name_and_by_content(tmp_path: Path) -> None:
    renamed = dump(tmp_path / "capture.bin", tflow.tflow(resp=True))
    har = tmp_path / "x.json"
    har.write_text(json.dumps({"log": {"entries": []}}))
    number = tmp_path / "numbers.txt"
    number.write_bytes(b"12:hello world!,")  # a tnetstring, but not a flow's dictionary
    assert READER.sniff(renamed) and READER.sniff(tmp_path / "whatever.mitm")
    assert not READER.sniff(har) and not READER.sniff(number)
    assert not READER.sniff(tmp_path / "missing.bin")
    assert detect(renamed) is READER


def test_registered_as_a_reader() -> None:
    assert FORMATS["mitmproxy"] is READER


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=2048))
def test_any_bytes_raise_only_import_format_error(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.mitm"
        path.write_bytes(data)
        try:
            for item in READER.read(path):
                assert isinstance(item, Interaction | Skipped)
        except ImportFormatError:
            pass


_leaf = st.none() | st.booleans() | st.integers() | st.binary(max_size=8) | st.text(max_size=8)
_values = st.recursive(
    _leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.binary(max_size=8), inner),
    max_leaves=10,
)


_FIELDS = ["type", "request", "response", "client_conn", "server_conn", "id", "error", "version"]


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    version=st.sampled_from([[0, 10], [0, 11], [0, 18], [3, 0], 4, 7, 19, 21, 22]) | _values,
    fields=st.dictionaries(st.sampled_from(_FIELDS), _values),
    text_keys=st.booleans(),
    then=st.binary(max_size=16),
)
def test_any_flow_record_raises_only_import_format_error(
    version: Any, fields: dict[str, Any], text_keys: bool, then: bytes
) -> None:
    record = {**fields, "version": version}
    if not text_keys:
        record = {k.encode(): v for k, v in record.items()}  # as mitmproxy 0.x wrote them
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "x.mitm"
        path.write_bytes(tnetstring.dumps(record) + then)
        try:
            for item in READER.read(path):
                assert isinstance(item, Interaction | Skipped)
        except ImportFormatError:
            pass


def test_a_flow_written_by_this_mitmproxy_round_trips(tmp_path: Path) -> None:
    one = tflow.tflow(resp=True)
    one.request.headers.add("X-Repeat", "1")
    one.request.headers.add("X-Repeat", "2")
    assert isinstance(one.response, http.Response)
    one.response.headers["Content-Encoding"] = "gzip"
    one.response.raw_content = gzip.compress(b'{"ok": true}')
    (got,) = read(dump(tmp_path / "gz.mitm", one))
    assert isinstance(got, Interaction)
    assert got.response.body == b'{"ok": true}'
    assert got.response.encoding == "gzip"
    assert [v for k, v in got.request.headers if k == "X-Repeat"] == ["1", "2"]
