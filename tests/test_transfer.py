"""import_paths: folders a format owns are read whole, a failing file is rolled back, reports
stay small whatever the files hold, and an upload's temporary folder is never shown. Importer
and export_from: what virt import and virt export run, bad input refused before any work."""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
import yaml

from tests.formats.corpus import require_corpus
from tests.helpers import VIRT, clean_env
from virt import transfer
from virt.config import ConfigFile
from virt.errors import ConfigError
from virt.redact import Redactor
from virt.store import Filter, Store
from virt.transfer import Importer, import_paths

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


def _empty_entries_har(path: Path, entries: int) -> Path:
    """A HAR of `entries` empty entries: each is skipped ("no response")."""
    with path.open("w") as f:
        f.write('{"log": {"version": "1.2", "entries": [')
        f.write(",".join(["{}"] * entries))
        f.write("]}}")
    return path


def test_the_report_lists_the_first_skipped_entries_of_each_file_and_counts_all(
    tmp_path: Path,
) -> None:
    files = [_empty_entries_har(tmp_path / f"{n}.har", 30) for n in range(3)]
    (tmp_path / "notes.txt").write_text("not a recording")
    store = Store.open(tmp_path / "t.db")
    report = import_paths(store, [*files, tmp_path / "notes.txt"])
    assert report.skipped_count == 3 * 30 + 1
    assert [p.path for p in report.skipped] == [str(f) for f in files for _ in range(20)] + [
        str(tmp_path / "notes.txt")
    ]
    assert report.skipped[19].where == "log.entries[19]"
    assert report.skipped_unlisted == 3 * 10
    assert report.reasons == {"no response": 90, "not a recording in a format virt reads": 1}


def test_the_report_counts_at_most_so_many_reasons(tmp_path: Path) -> None:
    n = transfer.REASONS + 5
    mappings = [
        {
            "request": {"method": "GET", "url": f"/{i}"},
            "response": {"status": 200, "bodyFileName": f"missing-{i}.json"},
        }
        for i in range(n)
    ]
    (tmp_path / "m.json").write_text(json.dumps({"mappings": mappings}))
    store = Store.open(tmp_path / "t.db")
    report = import_paths(store, [tmp_path / "m.json"], format="wiremock")
    assert report.skipped_count == n
    assert len(report.reasons) == transfer.REASONS + 1  # and one for the rest
    assert report.reasons[transfer.OTHER_REASONS] == 5
    assert sum(report.reasons.values()) == n


_PEAK_OF_CHILD = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "print('peak-rss-kb', peak, file=sys.stderr); "
    "sys.exit(code)"
)
"""Runs a command and prints its peak resident set, measured in a process of its own."""


def test_a_million_skipped_entries_import_in_bounded_memory(tmp_path: Path) -> None:
    """Every skipped entry used to be kept: 10**7 empty HAR entries (30 MB) took 3 GB."""
    har = _empty_entries_har(tmp_path / "wide.har", 1_000_000)
    db = tmp_path / "w.db"
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            _PEAK_OF_CHILD,
            *VIRT,
            "import",
            "--json",
            "--db",
            str(db),
            str(har),
        ],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    peak_line = done.stderr.rstrip().rpartition("\n")[2]
    assert peak_line.startswith("peak-rss-kb "), done.stderr
    peak_mb = int(peak_line.split()[1]) // 1024
    report = json.loads(done.stdout)
    assert report["skipped_count"] == 1_000_000
    assert len(report["skipped"]) == transfer.SHOWN_PER_FILE
    assert report["skipped_unlisted"] == 1_000_000 - transfer.SHOWN_PER_FILE
    assert report["skipped_reasons"] == {"no response": 1_000_000}
    assert peak_mb < 150, f"virt import peaked at {peak_mb} MB"


def test_a_file_shown_under_another_name_never_shows_its_folder(tmp_path: Path) -> None:
    """An upload is read from a temporary folder: reports and sources name the upload."""
    hidden = tmp_path / "virt-import-x1y2"
    hidden.mkdir()
    mapping = {
        "request": {"method": "GET", "url": "/a"},
        "response": {"status": 200, "bodyFileName": "missing.json"},
    }
    ok = {"request": {"method": "GET", "url": "/b"}, "response": {"status": 200, "body": "b"}}
    (hidden / "m.json").write_text(json.dumps({"mappings": [mapping, ok]}))
    (hidden / "bad.yaml").write_text("version: api.keploy.io/v1beta1\nkind: Http\nspec: [a\n")
    store = Store.open(tmp_path / "t.db")
    first = import_paths(store, [hidden / "m.json"], format="wiremock", shown_as="m.json")
    second = import_paths(store, [hidden / "bad.yaml"], shown_as="bad.yaml")
    shown = repr((first, second))
    assert "virt-import-x1y2" not in shown and str(tmp_path) not in shown, shown
    assert [p.path for p in first.skipped] == ["m.json"]
    assert "missing.json" in first.skipped[0].why and "__files" in first.skipped[0].why
    assert [p.path for p in second.failed] == ["bad.yaml"]
    [stored] = store.find(Filter(), limit=10)
    assert (stored.source, stored.session) == ("m.json", "import:m.json")


def _vcr_cassette(path: Path, bodies: list[bytes]) -> None:
    """A VCR.py cassette whose gzip responses hold `bodies` as wire bytes (!!binary)."""
    interactions = []
    for n, body in enumerate(bodies):
        interactions.append(
            {
                "request": {
                    "method": "GET",
                    "uri": f"https://api.example.com/r{n}",
                    "body": None,
                    "headers": {},
                },
                "response": {
                    "status": {"code": 200, "message": "OK"},
                    "headers": {
                        "Content-Type": ["application/json"],
                        "Content-Encoding": ["gzip"],
                    },
                    "body": {"string": body},
                },
            }
        )
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}))


def test_a_decompression_bomb_fails_its_file_and_leaves_nothing_behind(tmp_path: Path) -> None:
    bomb = zlib.compressobj(9, zlib.DEFLATED, 31)
    data = b"".join(bomb.compress(bytes(1 << 20)) for _ in range(64)) + bomb.flush()
    _vcr_cassette(tmp_path / "bomb.yaml", [gzip.compress(b'{"ok": 1}'), data])
    store = Store.open(tmp_path / "b.db")
    report = import_paths(store, [tmp_path / "bomb.yaml"])
    assert report.imported == 0 and store.count() == 0
    (failed,) = report.failed
    assert failed.where == "interactions[1]", failed
    assert "decodes to" in failed.why and "bomb" in failed.why, failed


def test_an_entry_whose_secret_cannot_be_redacted_is_skipped_with_the_reason(
    tmp_path: Path,
) -> None:
    secret = b"hunter2-in-a-cut-gzip"
    cut = gzip.compress(b'{"password": "' + secret + b'"}' + b" " * 4000)[:-6]
    _vcr_cassette(tmp_path / "cut.yaml", [gzip.compress(b'{"ok": 1}'), cut])
    store = Store.open(tmp_path / "c.db")
    report = import_paths(store, [tmp_path / "cut.yaml"], transform=Redactor(b"k" * 32).interaction)
    assert report.imported == 1 and report.failed == []
    (skipped,) = report.skipped
    assert skipped.where == "entry 1" and "not imported" in skipped.why, skipped
    assert secret.decode() not in skipped.why
    assert secret not in (tmp_path / "c.db").read_bytes()


def _har_with_header(path: Path, name: str, value: str) -> Path:
    entry = {
        "startedDateTime": "2024-01-01T00:00:00.000Z",
        "request": {
            "method": "GET",
            "url": "https://x.test/me",
            "headers": [{"name": name, "value": value}],
        },
        "response": {"status": 200, "headers": [], "content": {"text": "me"}},
    }
    path.write_text(json.dumps({"log": {"entries": [entry]}}))
    return path


def test_the_importer_replaces_the_secrets_its_config_names_under_the_databases_key(
    tmp_path: Path,
) -> None:
    har = _har_with_header(tmp_path / "a.har", "X-Tenant-Key", "tenant-secret-1234")
    config = ConfigFile(data={"redact": {"headers": ["X-Tenant-Key"]}})
    db = tmp_path / "r.db"
    with Importer(db, config) as importer:
        report = importer.run(transfer.files_to_import([har]))
    assert report.imported == 1 and report.by_format == {"har": 1}
    assert (tmp_path / "r.db.key").exists(), "the key is kept next to the database"
    assert b"tenant-secret-1234" not in db.read_bytes()


def test_the_importer_without_redaction_keeps_secrets_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    har = _har_with_header(tmp_path / "a.har", "X-Tenant-Key", "tenant-secret-1234")
    config = ConfigFile(data={"redact": {"headers": ["X-Tenant-Key"]}})
    with Importer(tmp_path / "raw.db", config, redact=False) as importer:
        importer.run([har])
        stored = importer.store.find(Filter())
    assert dict(stored[0].request.headers)["X-Tenant-Key"] == "tenant-secret-1234"
    assert "no redaction" in caplog.text


def test_bad_input_fails_before_any_database_is_made(tmp_path: Path) -> None:
    db = tmp_path / "never.db"
    with pytest.raises(ConfigError, match="nope"):
        transfer.files_to_import([tmp_path], "nope")
    with pytest.raises(ConfigError, match="redact: unknown key"):
        Importer(db, ConfigFile(data={"redact": {"header": ["X-Key"]}}))
    with pytest.raises(ConfigError, match="nope"):
        transfer.export_from(db, "nope", tmp_path / "out.har")
    assert not db.exists()


def test_export_from_writes_what_the_filter_keeps_and_leaves_the_database_as_it_was(
    tmp_path: Path,
) -> None:
    db = tmp_path / "e.db"
    with Importer(db, ConfigFile()) as importer:
        importer.run([_har_with_header(tmp_path / "a.har", "Accept", "text/plain")])
    before = db.read_bytes()
    assert transfer.export_from(db, "har", tmp_path / "out" / "x.har", Filter(host="x.test")) == 1
    assert transfer.export_from(db, "har", tmp_path / "none.har", Filter(host="y.test")) == 0
    assert json.loads((tmp_path / "out" / "x.har").read_text())["log"]["entries"]
    assert db.read_bytes() == before
