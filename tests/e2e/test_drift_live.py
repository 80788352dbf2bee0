"""virt drift end to end: a real FastAPI service recorded through `virt record` over HTTPS,
restarted as it was and then changed, and `virt drift` run as a real process against it."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import markdown
import pytest
import trustme
import xmlschema

from tests.e2e.driftserver import create_app
from tests.helpers import (
    VIRT,
    Upstream,
    VirtProcess,
    clean_env,
    free_port,
    health_ok,
    port_open,
    trusting,
)
from virt.store import Store
from virt.store.query import Filter

JUNIT_XSD = Path(__file__).parents[1] / "data" / "junit" / "junit.xsd"
RECORD_TOKEN = "rec-token-4f1d9a7c2b"
RECORD_KEY = "rec-key-9e8d7c6b5a"
LIVE_TOKEN = "live-token-0a1b2c3d4e"
LIVE_KEY = "live-key-5f6e7d8c9b"
CALLS = ["/profile", "/items", "/orders/7", "/events", "/v1/legacy"]
CREDENTIALS = '[drift.credentials]\nAuthorization = "API_TOKEN"\napi_key = "API_KEY"\n'


@dataclass
class Recorded:
    db: Path
    tmp: Path
    port: int
    certs: dict[str, str]
    ca: Path
    seen: list[str] = field(default_factory=list)

    @property
    def origin(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @contextlib.contextmanager
    def live(self, *, changed: bool, seed: int) -> Iterator[list[str]]:
        """The service on its recorded port, as recorded or changed; yields what it received."""
        seen: list[str] = []
        app = create_app(changed=changed, seed=seed, seen=seen)
        upstream = Upstream(app, scheme="https", ssl=self.certs, port=self.port).start()
        try:
            yield seen
        finally:
            upstream.stop()

    def drift(
        self, *args: str, creds: bool = True, db: Path | None = None
    ) -> subprocess.CompletedProcess[str]:
        env = clean_env(SSL_CERT_FILE=str(self.ca))
        if creds:
            env.update(API_TOKEN=LIVE_TOKEN, API_KEY=LIVE_KEY)
        env["COLUMNS"] = "400"  # the terminal table on one line per row
        cmd = [*VIRT, "drift", "--db", str(db or self.db), *args]
        return subprocess.run(
            cmd, env=env, cwd=self.tmp, capture_output=True, text=True, timeout=120
        )


@pytest.fixture(scope="module")
def recorded(
    tmp_path_factory: pytest.TempPathFactory,
    upstream_ca: trustme.CA,
    upstream_ca_path: Path,
    confdir: Path,
) -> Recorded:
    """Every route, and GET /me with a bearer token and an api_key, recorded once."""
    tmp = tmp_path_factory.mktemp("drift")
    cert = upstream_ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp / "key.pem"))
    certs = {"ssl_certfile": str(tmp / "cert.pem"), "ssl_keyfile": str(tmp / "key.pem")}
    rec = Recorded(tmp / "api.db", tmp, free_port(), certs, upstream_ca_path)
    (tmp / "virt.toml").write_text(CREDENTIALS)
    port = free_port()
    with rec.live(changed=False, seed=0):
        recorder = VirtProcess(
            ["record", "--db", str(rec.db), "--port", str(port), "--confdir", str(confdir)],
            clean_env(SSL_CERT_FILE=str(upstream_ca_path)),
            tmp,
        ).start(lambda: port_open(port))
        try:
            with httpx.Client(
                proxy=f"http://127.0.0.1:{port}",
                verify=trusting(confdir / "mitmproxy-ca-cert.pem"),
            ) as client:
                for target in CALLS:
                    assert client.get(rec.origin + target).status_code == 200
                me = client.get(
                    rec.origin + "/me",
                    params={"api_key": RECORD_KEY},
                    headers={"Authorization": f"Bearer {RECORD_TOKEN}"},
                )
                assert me.status_code == 200
        finally:
            assert recorder.stop() == 0, recorder.output()
    return rec


def _findings(report: dict) -> set[tuple[str, str, str, str]]:
    return {
        (
            r["route"].split(" ", 1)[0] + " " + r["route"].split("/", 3)[-1],
            f["kind"],
            f["where"],
            f["severity"],
        )
        for r in report["routes"]
        for f in r["findings"]
    }


EXPECTED = {
    ("GET profile", "field-added", "$.phone", "compatible"),
    ("GET profile", "field-removed", "$.nickname", "breaking"),
    ("GET profile", "field-retyped", "$.age", "breaking"),
    ("GET profile", "made-nullable", "$.bio", "breaking"),
    ("GET items", "enum-value-new", "$[].status", "compatible"),
    ("GET orders/{id}", "status-changed", "status", "breaking"),
    ("GET events", "array-became-object", "$", "breaking"),
    ("GET v1/legacy", "header-added", "header:Sunset", "compatible"),
}


def test_drift_reports_each_change_at_its_severity_and_nothing_else(
    recorded: Recorded, tmp_path: Path
) -> None:
    with recorded.live(changed=False, seed=1):
        same = recorded.drift("--format", "json", "-o", str(tmp_path / "same.json"))
    report = json.loads((tmp_path / "same.json").read_text())
    assert same.returncode == 0, same.stdout + same.stderr
    assert _findings(report) == set()
    assert sum(r["sent"] for r in report["routes"]) == len(CALLS) + 1
    for seed in (2, 3, 4):
        out = tmp_path / f"changed-{seed}.json"
        with recorded.live(changed=True, seed=seed):
            run = recorded.drift("--format", "json", "-o", str(out))
        assert run.returncode == 2, run.stdout + run.stderr
        report = json.loads(out.read_text())
        assert _findings(report) == EXPECTED, f"seed {seed}"
        assert report["worst"] == "breaking"


def test_fail_on_breaking_and_ignore_rules_silence_compatible_drift(recorded: Recorded) -> None:
    with recorded.live(changed=True, seed=5):
        compatible = recorded.drift("--route", "*/items", "--fail-on", "compatible")
        ignored = recorded.drift("--route", "*/items", "--fail-on", "breaking")
        silenced = recorded.drift("--route", "*/items", "--ignore", "status")
    config = recorded.tmp / "silenced.toml"
    config.write_text('[drift]\nignore = ["$[].status"]\n')
    with recorded.live(changed=True, seed=12):
        by_config = recorded.drift("--route", "*/items", "--config", str(config))
    assert by_config.returncode == 0, by_config.stderr
    assert compatible.returncode == 1, compatible.stderr
    assert ignored.returncode == 0, ignored.stderr
    assert silenced.returncode == 0, silenced.stderr


def test_junit_output_passes_a_junit_schema_and_markdown_is_a_table(
    recorded: Recorded, tmp_path: Path
) -> None:
    with recorded.live(changed=True, seed=6):
        run = recorded.drift(
            *("--format", "junit", "-o", str(tmp_path / "drift.xml")),
            *("--format", "markdown", "-o", str(tmp_path / "drift.md")),
        )
    assert run.returncode == 2, run.stderr
    md = (tmp_path / "drift.md").read_text()
    xml = (tmp_path / "drift.xml").read_text()
    xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
    assert 'tests="6" failures="5" errors="0" skipped="0"' in xml, xml
    html = markdown.markdown(md, extensions=["tables"])
    assert html.count("<table>") == 1
    head = ["Route", "Severity", "Where", "Change", "Recorded", "Live"]
    assert re.findall(r"<th>(.*?)</th>", html) == head
    body = html.split("<tbody>", 1)[1]
    assert body.count("<tr>") == len(EXPECTED)
    assert body.count("<td>") == len(EXPECTED) * len(head)


def test_no_recorded_placeholder_is_ever_sent_upstream(recorded: Recorded) -> None:
    with recorded.live(changed=False, seed=7) as seen:
        bare = recorded.drift("--route", "*/me", "--format", "json", creds=False)
    assert not any("/me" in line for line in seen), "a request without its credential was sent"
    report = json.loads(bare.stdout)
    (reason,) = [s["reason"] for r in report["routes"] for s in r["skipped"]]
    assert "VIRT_DRIFT_" not in reason and "API_TOKEN" in reason and "API_KEY" in reason
    with recorded.live(changed=False, seed=8) as seen:
        filled = recorded.drift("--route", "*/me")
    assert filled.returncode == 0, filled.stdout + filled.stderr
    (sent,) = [line for line in seen if "/me" in line]
    assert f"Bearer {LIVE_TOKEN}" in sent and f"api_key={LIVE_KEY}" in sent
    assert RECORD_TOKEN not in sent and RECORD_KEY not in sent
    assert "secret" not in sent.lower()
    for secret in (LIVE_TOKEN, LIVE_KEY):
        assert secret not in filled.stdout + filled.stderr


def test_dry_run_lists_what_would_be_sent_and_sends_nothing(
    recorded: Recorded, tmp_path: Path
) -> None:
    db = tmp_path / "copy.db"
    shutil.copy(recorded.db, db)  # without its key file: a check must not write one
    with recorded.live(changed=True, seed=9) as seen:
        run = recorded.drift("--dry-run", "--format", "json", db=db)
    assert seen == []
    assert not (tmp_path / "copy.db.key").exists()
    assert run.returncode == 0
    report = json.loads(run.stdout)
    planned = [p for r in report["routes"] for p in r["planned"]]
    (me,) = [p for p in planned if "/me?" in p]
    assert sorted(set(planned) - {me}) == sorted(f"GET {recorded.origin}{t}" for t in CALLS)
    assert me.startswith(f"GET {recorded.origin}/me?api_key=%3Csecret%3A")


def test_update_records_the_live_answers_and_keeps_the_old_session(
    recorded: Recorded, tmp_path: Path, confdir: Path
) -> None:
    db = tmp_path / "api.db"
    shutil.copy(recorded.db, db)
    shutil.copy(recorded.db.with_name("api.db.key"), tmp_path / "api.db.key")
    store = Store.open(db, readonly=True)
    old_sessions = {i.session for i in store.find(Filter(), limit=100)}
    store.close()
    with recorded.live(changed=True, seed=10):
        run = recorded.drift("--update", "--session", "refreshed", db=db)
    assert run.returncode == 2, run.stdout + run.stderr
    store = Store.open(db, readonly=True)
    everything = store.find(Filter(), limit=100)
    tags = store.tags([i.id for i in everything if i.id is not None])
    store.close()
    old = [i for i in everything if i.session in old_sessions]
    new = [i for i in everything if i.session == "refreshed"]
    assert len(old) == len(new) == len(CALLS) + 1
    assert all(tags.get(i.id or 0) == ["superseded"] for i in old)
    (me,) = [i for i in new if i.request.path == "/me"]
    assert LIVE_KEY not in me.request.url and LIVE_TOKEN not in str(me.request.headers)
    port = free_port()
    server = VirtProcess(
        ["serve", "--db", str(db), "--port", str(port), "--no-fallback", "--confdir", str(confdir)],
        clean_env(),
        tmp_path,
    ).start(lambda: health_ok(port))
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            profile = client.get("/profile").json()
            assert "phone" in profile and "nickname" not in profile
            assert client.get("/orders/7").status_code == 404
            assert "data" in client.get("/events").json()
    finally:
        assert server.stop() == 0, server.output()


def test_openapi_contract_check_needs_no_network(recorded: Recorded, tmp_path: Path) -> None:
    spec = tmp_path / "api.yaml"
    spec.write_text(
        """openapi: 3.1.0
info: {title: drift, version: "1"}
paths:
  /profile:
    get:
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  age: {type: string}
  /orders/{id}:
    get:
      parameters: [{name: id, in: path, required: true, schema: {type: integer}}]
      responses:
        "404": {description: gone}
"""
    )
    run = recorded.drift("--openapi", str(spec), "--format", "json")
    assert run.returncode == 2, run.stdout + run.stderr
    found = {(k[0], k[1], k[2]) for k in _findings(json.loads(run.stdout))}
    assert ("GET profile", "contract-violation", "$.age") in found
    assert ("GET orders/{id}", "undocumented-status", "status") in found
    assert ("GET events", "undocumented-route", "route") in found


def test_record_compare_with_logs_how_each_live_answer_differs(
    recorded: Recorded, tmp_path: Path, confdir: Path
) -> None:
    port = free_port()
    args = ["record", "--db", str(tmp_path / "new.db"), "--port", str(port)]
    args += ["--confdir", str(confdir), "--compare-with", str(recorded.db)]
    with recorded.live(changed=True, seed=11):
        recorder = VirtProcess(
            args,
            clean_env(SSL_CERT_FILE=str(recorded.ca)),
            tmp_path,
        ).start(lambda: port_open(port))
        try:
            with httpx.Client(
                proxy=f"http://127.0.0.1:{port}",
                verify=trusting(confdir / "mitmproxy-ca-cert.pem"),
            ) as client:
                for target in CALLS:
                    client.get(recorded.origin + target)
        finally:
            assert recorder.stop() == 0, recorder.output()
    lines = [line for line in recorder.output().splitlines() if " drift GET " in line]
    said = {line.split(" drift ", 1)[1].replace(recorded.origin, "") for line in lines}
    assert said == {
        "GET /profile: [compatible] $.phone is new",
        "GET /profile: [breaking] $.nickname is gone",
        "GET /profile: [breaking] $.age was integer, is now string",
        "GET /profile: [breaking] $.bio can now be null",
        'GET /items: [compatible] $[].status has a new value "archived" '
        '(recorded: "active", "inactive")',
        "GET /orders/7: [breaking] status was 200, is now 404",
        "GET /events: [breaking] $ was an array and is now an object",
        "GET /v1/legacy: [compatible] Sunset is new",
    }, recorder.output()
    assert "compared 5 exchanges with" in recorder.output()


def test_an_unreachable_upstream_is_an_error_never_a_pass(recorded: Recorded) -> None:
    run = recorded.drift("--route", "*/profile", "--format", "json")  # the service is off
    assert run.returncode == 2, run.stdout + run.stderr
    (route,) = json.loads(run.stdout)["routes"]
    assert route["severity"] == "breaking" and route["findings"] == []
    assert "ConnectError" in route["errors"][0]["error"]


def test_the_terminal_table_shows_skip_reasons_as_written(recorded: Recorded) -> None:
    run = recorded.drift("--route", "*/me", "--dry-run", creds=False)
    assert run.returncode == 0, run.stderr
    assert "needs a credential nobody supplied" in run.stderr
    assert "[drift.credentials] of virt.toml" in run.stderr
