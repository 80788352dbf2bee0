"""Recorder under mitmproxy's addon harness: a flow's row is committed before its hook returns."""

from __future__ import annotations

import asyncio
import gzip
import re
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mitmproxy.exceptions import OptionsError
from mitmproxy.http import HTTPFlow
from mitmproxy.test import taddons, tflow, tutils

from tests.mounts import fill, small_disk
from virt.capture.addon import Recorder
from virt.mitm import REPLAYED
from virt.model import Interaction
from virt.store import Store


@pytest.fixture(autouse=True)
def _away_from_the_repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """mitmproxy configures an addon with its defaults first (virt_db=recordings/virt.db):
    keep what that creates out of the working tree."""
    monkeypatch.chdir(tmp_path)


T = TypeVar("T")


def committed(db: Path) -> list[dict[str, Any]]:
    """Rows another connection sees: only committed ones."""
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in conn.execute("SELECT * FROM interactions ORDER BY id")]
    finally:
        conn.close()


def run_with(
    rec: Recorder,
    options: dict[str, Any],
    body: Callable[[taddons.context], Awaitable[T]],
) -> T:
    """Run `body` inside a mitmproxy test context on a running loop, then shut the addon down."""

    async def main() -> T:
        with taddons.context(rec) as tctx:
            tctx.configure(rec, **options)
            try:
                return await body(tctx)
            finally:
                rec.done()

    return asyncio.run(main())


def test_a_response_is_committed_before_the_hook_returns(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    flow = tflow.tflow(resp=True)

    async def body(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(flow)
        return committed(db)  # still inside the context: the writer has not been closed

    rows = run_with(rec, {"virt_db": str(db)}, body)
    assert len(rows) == 1
    row = rows[0]
    assert (row["method"], row["scheme"], row["host"], row["port"], row["path"]) == (
        "GET",
        "http",
        "address",
        22,
        "/path",
    )
    assert row["status"] == 200
    assert row["request_body"] == b"content"
    assert row["response_body"] == b"message"


def test_recorded_interactions_read_back_whole(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    seen: list[Interaction] = []
    rec = Recorder(on_recorded=seen.append)
    flow = tflow.tflow(
        req=tutils.treq(path=b"/search?b=2&a=1", method=b"POST", content=b'{"q": 1}'),
        resp=tutils.tresp(status_code=201, reason=b"Created", content=b"made"),
    )

    async def body(tctx: taddons.context) -> None:
        await rec.response(flow)

    run_with(rec, {"virt_db": str(db), "virt_session": "checkout"}, body)
    assert len(seen) == 1 and seen[0].id is not None
    store = Store.open(db, readonly=True)
    try:
        got = store.get(seen[0].id)
    finally:
        store.close()
    assert got == seen[0]
    assert got.session == "checkout" and got.seq == 1
    assert got.request.path == "/search" and got.request.query == "b=2&a=1"
    assert got.response.reason == "Created"
    assert got.recorded_at == "1999-12-31T23:00:00.000Z"  # tflow's request timestamp
    assert got.timings is not None and got.timings.request_start == 946681200


def test_the_default_session_is_named_after_the_start_time(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    seen: list[Interaction] = []
    rec = Recorder(on_recorded=seen.append)

    async def body(tctx: taddons.context) -> None:
        await rec.response(tflow.tflow(resp=True))
        await rec.response(tflow.tflow(resp=True))

    run_with(rec, {"virt_db": str(db)}, body)
    assert [i.seq for i in seen] == [1, 2]
    assert seen[0].session == seen[1].session
    assert re.fullmatch(r"record-\d{8}T\d{6}Z", seen[0].session), seen[0].session


def test_a_gzip_response_is_stored_decoded_with_its_wire_bytes(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    wire = gzip.compress(b'{"big": "' + b"z" * 500 + b'"}', mtime=1)
    resp = tutils.tresp(content=b"")
    resp.headers["content-encoding"] = "gzip"
    resp.raw_content = wire
    flow = tflow.tflow(resp=resp)

    async def body(tctx: taddons.context) -> None:
        await rec.response(flow)

    run_with(rec, {"virt_db": str(db)}, body)
    (row,) = committed(db)
    assert row["response_body"] == gzip.decompress(wire)
    assert row["response_encoding"] == "gzip"
    assert row["response_wire_body"] == wire


def test_flows_virt_answered_itself_are_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    replayed = tflow.tflow(resp=True)
    replayed.metadata[REPLAYED] = True
    live = tflow.tflow(resp=True)
    live.request.path = "/live"

    async def body(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(replayed)
        await rec.response(live)
        return committed(db)

    rows = run_with(rec, {"virt_db": str(db)}, body)
    assert [r["path"] for r in rows] == ["/live"]


def test_a_flow_without_a_response_is_not_recorded(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    flow: HTTPFlow = tflow.tflow(err=True)

    async def body(tctx: taddons.context) -> None:
        await rec.response(flow)
        rec.error(flow)

    run_with(rec, {"virt_db": str(db)}, body)
    assert committed(db) == []


def test_a_response_that_cannot_be_recorded_becomes_a_502_saying_why(tmp_path: Path) -> None:
    rec = Recorder()
    flow = tflow.tflow(resp=True)
    flow.response.content = b"x" * 200_000  # type: ignore[union-attr]

    with small_disk(tmp_path / "disk", "256k") as disk:
        db = disk / "rec.db"

        async def body(tctx: taddons.context) -> list[dict[str, Any]]:
            filler = fill(disk)  # the database exists; now nothing more fits
            try:
                await rec.response(flow)
            finally:
                filler.unlink()
            return committed(db)

        rows = run_with(rec, {"virt_db": str(db)}, body)
    assert rows == []
    assert flow.response is not None
    assert flow.response.status_code == 502
    assert flow.response.content is not None
    assert flow.response.content.startswith(b"virt could not record this response: ")
    assert b"full" in flow.response.content


def test_a_non_utf8_path_is_recorded_percent_escaped(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    flow = tflow.tflow(resp=True)
    flow.request.data.path = b"/caf\xe9?q=\xff"  # legal bytes on the wire, not UTF-8

    async def body(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(flow)
        return committed(db)

    rows = run_with(rec, {"virt_db": str(db)}, body)
    assert [(r["path"], r["query"]) for r in rows] == [("/caf%E9", "q=%FF")]
    assert flow.response is not None and flow.response.status_code == 200


@pytest.mark.parametrize("kind", ["text file", "directory", "foreign database"])
def test_a_bad_virt_db_is_an_options_error_naming_the_path(tmp_path: Path, kind: str) -> None:
    path = tmp_path / "bad.db"
    if kind == "directory":
        path.mkdir()
    elif kind == "text file":
        path.write_text("hello\n")
    else:
        conn = sqlite3.connect(path)
        conn.execute("CREATE TABLE t (x)")
        conn.commit()
        conn.close()
    before = None if path.is_dir() else path.read_bytes()
    rec = Recorder()

    async def main() -> None:
        with taddons.context(rec) as tctx, pytest.raises(OptionsError) as caught:
            tctx.configure(rec, virt_db=str(path))
        assert str(path) in str(caught.value)
        assert "(" in str(caught.value), "the hint comes along"

    asyncio.run(main())
    if before is not None:
        assert path.read_bytes() == before


def test_changing_virt_db_records_into_the_new_file(tmp_path: Path) -> None:
    first, second = tmp_path / "one.db", tmp_path / "two.db"
    rec = Recorder()

    async def body(tctx: taddons.context) -> None:
        await rec.response(tflow.tflow(resp=True))
        tctx.configure(rec, virt_db=str(second))
        await rec.response(tflow.tflow(resp=True))
        await rec.response(tflow.tflow(resp=True))

    run_with(rec, {"virt_db": str(first)}, body)
    assert len(committed(first)) == 1
    assert len(committed(second)) == 2


def _post(content: bytes, ctype: str) -> HTTPFlow:
    flow = tflow.tflow(
        req=tutils.treq(method=b"POST", path=b"/echo", content=content),
        resp=tutils.tresp(status_code=200, content=b"ok"),
    )
    flow.request.headers["content-type"] = ctype
    return flow


def test_a_latin1_form_body_is_recorded(tmp_path: Path) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    flow = _post("name=J\xf6rg&city=K\xf6ln".encode("latin-1"), "application/x-www-form-urlencoded")

    async def body(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(flow)
        return committed(db)

    rows = run_with(rec, {"virt_db": str(db)}, body)
    assert flow.response is not None and flow.response.status_code == 200
    assert [r["request_body"] for r in rows] == [b"name=J\xf6rg&city=K\xf6ln"]


@pytest.mark.parametrize("redact", [False, True])
def test_json_nested_900_deep_is_recorded(tmp_path: Path, redact: bool) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    deep = b'{"a":' * 900 + b"1" + b"}" * 900
    flow = _post(deep, "application/json")

    async def body(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(flow)
        return committed(db)

    rows = run_with(rec, {"virt_db": str(db), "virt_redact": redact}, body)
    assert flow.response is not None and flow.response.status_code == 200
    assert [r["request_body"] for r in rows] == [deep]


def test_any_failure_to_record_becomes_a_502_naming_the_stage_not_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    db = tmp_path / "rec.db"
    rec = Recorder()
    flow = _post(b'{"password": "hunter2-secret"}', "application/json")
    flow.request.path = "/echo?api_key=hunter2-query"

    def broken(interaction: Interaction) -> Any:
        raise ValueError("cannot handle 'hunter2-secret'")

    monkeypatch.setattr(rec, "_prepare", broken)

    async def body(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(flow)
        return committed(db)

    rows = run_with(rec, {"virt_db": str(db)}, body)
    assert rows == []
    assert flow.response is not None and flow.response.status_code == 502
    text = flow.response.get_text()
    assert text == (
        "virt could not record this response: "
        "redacting and indexing the exchange failed (ValueError)\n"
    )
    assert "hunter2" not in text
    assert "not recorded: POST http://address:22/echo: redacting" in caplog.text
    assert "hunter2" not in caplog.text  # neither the body nor the query reach the log


_CTYPES = st.sampled_from(
    [
        "application/json",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=b",
        "text/xml",
        "text/plain; charset=latin-1",
        "",
    ]
)
_BODIES = (
    st.binary(max_size=200)
    | st.integers(1, 2000).map(lambda n: b"[" * n + b"]" * n)
    | st.integers(1, 2000).map(lambda n: b'{"password":' * n + b'"x"' + b"}" * n)
)


@settings(max_examples=40, deadline=None)
@given(body=_BODIES, ctype=_CTYPES, path=st.binary(min_size=1, max_size=30))
def test_any_body_is_recorded_or_refused_never_passed_through_unrecorded(
    tmp_path_factory: pytest.TempPathFactory, body: bytes, ctype: str, path: bytes
) -> None:
    db = tmp_path_factory.mktemp("fuzz") / "rec.db"
    rec = Recorder()
    flow = _post(body, ctype)
    flow.request.path = "/" + path.decode("latin-1").replace("?", "%3F").replace("#", "%23")

    async def run(tctx: taddons.context) -> list[dict[str, Any]]:
        await rec.response(flow)
        return committed(db)

    rows = run_with(rec, {"virt_db": str(db)}, run)  # redacting, as by default
    assert flow.response is not None
    if flow.response.status_code == 200:
        assert len(rows) == 1
    else:  # delivered means committed: a refusal says so, and nothing was half-written
        assert flow.response.status_code == 502
        assert flow.response.content is not None
        assert flow.response.content.startswith(b"virt could not record this response: ")
        assert rows == []
