"""The workload of make bench: the issue's requests, written as a HAR that virt and mitmproxy
both read back as the same entries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from mitmproxy import http, io

from bench import workload
from virt.store import Store


def test_a_search_entry_sends_the_json_body_of_the_issue() -> None:
    e = workload.entry(20)
    assert (e.method, e.target) == ("POST", "/api/search")
    assert e.body == b'{"q":"item-20","page":6,"filters":{"in_stock":true,"min_price":20}}'


def test_other_entries_get_an_item_with_a_page() -> None:
    e = workload.entry(12345)
    assert (e.method, e.target, e.body) == ("GET", "/api/items/12345?page=4", b"")


def test_every_answer_is_300_bytes_of_json() -> None:
    for i in (0, 1, 9, 10, 99_999, 999_990, 999_999):
        answer = workload.entry(i).answer
        assert len(answer) == 300
        assert json.loads(answer)["description"]


def test_entries_are_told_apart_by_method_path_query_and_body() -> None:
    keys = [e.key for e in workload.entries(5000)]
    assert len(set(keys)) == len(keys)


def test_the_har_reads_back_as_the_entries(tmp_path: Path) -> None:
    har = tmp_path / "w.har"
    workload.write_har(40, har)
    assert list(workload.read_har(har)) == list(workload.entries(40))


def test_mitmproxy_reads_the_har_as_the_same_requests(tmp_path: Path) -> None:
    har = tmp_path / "w.har"
    workload.write_har(20, har, scheme="https")
    flows = io.read_flows_from_paths([str(har)])
    assert len(flows) == 20
    for i, f in enumerate(flows):
        assert isinstance(f, http.HTTPFlow)
        e = workload.entry(i)
        assert f.request.url == f"https://api.bench.local{e.target}"
        assert f.request.method == e.method
        assert f.request.content == e.body
        assert f.response is not None and f.response.content == e.answer


def test_virt_import_takes_every_entry(tmp_path: Path) -> None:
    har = tmp_path / "w.har"
    workload.write_har(30, har)
    db = tmp_path / "w.db"
    # as make bench runs it: the real command, in a process of its own (in-process, the CLI's
    # logging set-up would outlive the test)
    result = subprocess.run(
        [sys.executable, "-m", "virt", "import", "--db", str(db), str(har)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    store = Store.open(db, readonly=True)
    try:
        assert store.count() == 30
    finally:
        store.close()
