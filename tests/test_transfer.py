"""import_paths: folders a format owns are read whole, a failing file is rolled back."""

from __future__ import annotations

import json
from pathlib import Path

from tests.formats.corpus import require_corpus
from virt.store import Filter, Store
from virt.transfer import import_paths

CACHED_404 = (
    "wiremock/hub4j__github-api/src/test/resources/org/kohsuke/github/extras/"
    "GitHubCachingTest/wiremock/testCached404"
)


def test_a_wiremock_folder_inside_a_tree_keeps_its_recorded_order(tmp_path: Path) -> None:
    root = require_corpus() / CACHED_404
    store = Store.open(tmp_path / "w.db")
    report = import_paths(store, [root.parent.parent])  # walked from above, as a user would
    polled = [
        i.response.status
        for i in store.find(Filter(path="*/refs/heads/test/content_ref_cache"), limit=100)
        if i.request.method == "GET"
    ]
    assert polled == [200, 304, 404, 404, 304, 200, 304]
    assert report.failed == []
    assert not any("__files" in p.path for p in report.skipped), "body files are not recordings"


def test_a_file_that_breaks_midway_imports_nothing_and_the_rest_goes_on(tmp_path: Path) -> None:
    good = {"request": {"method": "GET", "url": "/ok"}, "response": {"status": 200, "body": "ok"}}
    folder = tmp_path / "mappings"
    folder.mkdir()
    (folder / "a.json").write_text(json.dumps(good))
    entry = {
        "startedDateTime": "2024-01-01T00:00:00.000Z",
        "request": {"method": "GET", "url": "https://x.test/first", "headers": []},
        "response": {"status": 200, "headers": [], "content": {"text": "first"}},
    }
    broken = {**entry, "response": {"status": "not a number", "headers": []}}
    (tmp_path / "broken.har").write_text(json.dumps({"log": {"entries": [entry, broken]}}))
    store = Store.open(tmp_path / "t.db")
    report = import_paths(store, [tmp_path / "broken.har", folder])
    assert report.imported == 1
    assert [p.path for p in report.failed] == [str(tmp_path / "broken.har")]
    assert "entries[1]" in report.failed[0].where
    assert store.count() == 1  # the first HAR entry was rolled back with its file
    assert store.find(Filter(host="x.test")) == []
