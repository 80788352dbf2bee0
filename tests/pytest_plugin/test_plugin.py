"""The pytest plugin end to end: real inner test suites (pytester) whose requests, httpx, aiohttp
and boto3 calls are recorded from real upstreams, then replayed with the upstreams switched off,
with and without pytest-xdist."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
import trustme

from demo.upstream import create_app
from tests.e2e.aws import Moto
from tests.helpers import Upstream

pytest_plugins = ["pytester"]

INNER = '''
import asyncio
import os
import ssl

import aiohttp
import boto3
import httpx
import pytest
import requests
from botocore.config import Config

pytestmark = pytest.mark.virt

HTTPS = os.environ["UP_HTTPS"]
MOTO = os.environ["UP_MOTO"]


def test_requests():
    reply = requests.get(f"{HTTPS}/users/1", timeout=10)
    assert reply.json()["id"] == 1


def test_httpx_sync():
    with httpx.Client() as client:
        assert client.get(f"{HTTPS}/users/2").json()["id"] == 2


def test_httpx_async():
    async def get():
        async with httpx.AsyncClient() as client:
            return (await client.get(f"{HTTPS}/users")).json()

    assert asyncio.run(get())


def test_aiohttp():
    # aiohttp builds its default SSL context when imported, before the plugin sets SSL_CERT_FILE
    trust = ssl.create_default_context(cafile=os.environ["SSL_CERT_FILE"])

    async def post():
        async with aiohttp.ClientSession(trust_env=True) as session:
            async with session.post(f"{HTTPS}/echo", json={"n": 1}, ssl=trust) as reply:
                return reply.status, await reply.json()

    status, body = asyncio.run(post())
    assert status == 200 and body["method"] == "POST"


def test_boto3_s3():
    s3 = boto3.Session(
        aws_access_key_id="AKIAIOSFODNN7EXAMPLE",
        aws_secret_access_key="wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        region_name="eu-west-1",
    ).client(
        "s3",
        endpoint_url=MOTO,
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )
    s3.create_bucket(
        Bucket="plugin", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
    )
    s3.put_object(Bucket="plugin", Key="a.txt", Body=b"hello")
    assert s3.get_object(Bucket="plugin", Key="a.txt")["Body"].read() == b"hello"


def test_polled_job_starts_over(virt):
    """Run twice (--keep-duplicates): each run sees the sequence from its first answer."""
    job = requests.post(f"{HTTPS}/jobs", timeout=10).json()["id"]
    states = [requests.get(f"{HTTPS}/jobs/{job}", timeout=10).json()["state"] for _ in range(3)]
    assert states == ["pending", "pending", "done"]
    if virt.mode == "replay":
        assert [e["match"] for e in virt.journal()] == ["exact"] * 4


@pytest.mark.virt(mode="none")
def test_mode_none_sets_nothing():
    assert "HTTPS_PROXY" not in os.environ
'''

OUTSIDE = """
import os


def test_variables_are_restored_after_each_test():
    assert "HTTPS_PROXY" not in os.environ and "http_proxy" not in os.environ
    assert "virt-ca-bundle" not in os.environ.get("SSL_CERT_FILE", "")
"""


def _project(pytester: pytest.Pytester, confdir: Path, extra: str = "") -> None:
    pytester.makefile(
        ".toml",
        pyproject=f"""
            [tool.pytest.ini_options]
            # plugins the inner runs do not use cost seconds of start-up each
            addopts = "-p no:cacheprovider -p no:schemathesis -p no:hypothesispytest -p no:faker"

            [tool.virt]
            confdir = "{confdir}"
            {extra}
        """,
    )


@pytest.fixture
def upstreams(
    upstream_ca: trustme.CA, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Upstream, Moto]]:
    """The bundled upstream over HTTPS and moto's server, each on a free port."""
    d = tmp_path_factory.mktemp("plugin-upstream")
    cert = upstream_ca.issue_cert("127.0.0.1", "localhost")
    cert.cert_chain_pems[0].write_to_path(str(d / "cert.pem"))
    cert.private_key_pem.write_to_path(str(d / "key.pem"))
    https = Upstream(
        create_app(),
        scheme="https",
        ssl={"ssl_certfile": str(d / "cert.pem"), "ssl_keyfile": str(d / "key.pem")},
    ).start()
    moto = Moto(d / "moto.log").start()
    yield https, moto
    https.stop()
    moto.stop()


def _interactions(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from interactions").fetchone()[0])


@pytest.mark.parametrize("record_workers", [0, 2], ids=["record", "record-n2"])
def test_record_then_replay_with_the_upstreams_off(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    upstreams: tuple[Upstream, Moto],
    upstream_ca_path: Path,
    confdir: Path,
    record_workers: int,
) -> None:
    https, moto = upstreams
    _project(pytester, confdir)
    pytester.makepyfile(test_deps=INNER, test_outside=OUTSIDE)
    monkeypatch.setenv("UP_HTTPS", https.url)
    monkeypatch.setenv("UP_MOTO", moto.url)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(pytester.path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(pytester.path / "none"))
    # virt record trusts the private upstream through the variables pytest started with
    monkeypatch.setenv("SSL_CERT_FILE", str(upstream_ca_path))
    xdist = ["-n", str(record_workers)] if record_workers else []
    recorded = pytester.runpytest_subprocess("--virt-mode=record", *xdist)
    recorded.assert_outcomes(passed=8)
    db = pytester.path / "recordings" / "test_deps.db"
    assert _interactions(db) >= 10
    assert not (pytester.path / "recordings" / "test_outside.db").exists()

    https.stop()
    moto.stop()
    monkeypatch.delenv("SSL_CERT_FILE")
    before = len(https.hits)
    # the module twice: the polled job's sequence starts over in each run of its test
    replayed = pytester.runpytest_subprocess("--keep-duplicates", "test_deps.py", "test_deps.py")
    replayed.assert_outcomes(passed=14)
    assert pytester.runpytest_subprocess("-n", "2").ret == 0
    assert len(https.hits) == before


def test_unrecorded_request_fails_its_test_with_the_near_miss_report(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    http_upstream: Upstream,
    confdir: Path,
) -> None:
    _project(pytester, confdir)
    pytester.makepyfile(
        test_api="""
        import os

        import httpx
        import pytest
        import requests

        pytestmark = pytest.mark.virt
        BASE = os.environ["UP_HTTP"]


        def test_recorded():
            assert requests.get(f"{BASE}/users/1", timeout=10).json()["id"] == 1


        def test_another_id_gets_a_fallback(virt):
            uid = 2 if virt.mode == "record" else 3
            reply = requests.get(f"{BASE}/users/{uid}", timeout=10)
            assert reply.status_code == 200
            if virt.mode == "replay":
                assert reply.headers["X-Virt-Match"].startswith("fallback")


        def test_unrecorded_route():
            if os.environ.get("RECORDING"):
                return
            reply = requests.get(f"{BASE}/users/1/orders?page=2", timeout=10)
            reply.raise_for_status()


        def test_a_miss_taken_by_the_test_does_not_fail_it(virt):
            if os.environ.get("RECORDING"):
                return
            assert requests.get(f"{BASE}/nothing/here", timeout=10).status_code == 599
            assert [m["url"] for m in virt.take_misses()] == [f"{BASE}/nothing/here"]
            assert virt.misses() == []


        def test_a_miss_before_a_thousand_answers(virt):
            if os.environ.get("RECORDING"):
                return
            with httpx.Client(base_url=virt.url, trust_env=False) as direct:
                assert direct.get("/nothing/here").status_code == 599
                for _ in range(1000):
                    assert direct.get("/users/1").status_code == 200
        """
    )
    monkeypatch.setenv("UP_HTTP", http_upstream.url)
    monkeypatch.setenv("RECORDING", "1")
    pytester.runpytest_subprocess("--virt-mode=record").assert_outcomes(passed=5)
    http_upstream.stop()
    monkeypatch.delenv("RECORDING")

    result = pytester.runpytest_subprocess()
    result.assert_outcomes(passed=3, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*_ test_unrecorded_route _*",
            "virt: 1 request had no recording in */recordings/test_api.db",
            f"E   GET {http_upstream.url}/users/1/orders?page=2  ->  599 (proxy door)",
            "E     nearest recording: none of this route",
            "E     recorded on 127.0.0.1:*:",
            "E       GET /users/1",
            "Record what is missing with --virt-mode=once*",
            "The test's own failure, most likely a consequence:",
            "*_ test_a_miss_before_a_thousand_answers _*",
            "virt: 1 request had no recording in *",
            "1 of them no longer in virt's journal, which keeps the last 1000 answers*",
        ]
    )

    strict = pytester.runpytest_subprocess("--virt-strict")
    strict.assert_outcomes(passed=2, failed=3)
    strict.stdout.fnmatch_lines(
        [
            f"E   GET {http_upstream.url}/users/3  ->  599 (proxy door)",
            f"E     nearest recording: #* GET {http_upstream.url}/users/* -> 200 (score *)",
            "E     path*: sent '3', recorded '*'",
        ]
    )


def test_record_starts_afresh_and_once_records_only_what_is_missing(
    pytester: pytest.Pytester,
    monkeypatch: pytest.MonkeyPatch,
    http_upstream: Upstream,
    confdir: Path,
) -> None:
    _project(pytester, confdir, 'mode = "once"')
    calls = ["/users/1"]
    pytester.makepyfile(
        test_once="""
        import os

        import pytest
        import requests


        @pytest.mark.virt
        def test_users():
            for path in os.environ["PATHS"].split(","):
                reply = requests.get(os.environ["UP_HTTP"] + path, timeout=10)
                assert reply.status_code == 200
        """
    )
    monkeypatch.setenv("UP_HTTP", http_upstream.url)
    monkeypatch.setenv("PATHS", ",".join(calls))
    pytester.runpytest_subprocess("--virt-mode=record").assert_outcomes(passed=1)
    # recording again starts afresh: replay must not answer with what the service used to say
    pytester.runpytest_subprocess("--virt-mode=record").assert_outcomes(passed=1)
    db = pytester.path / "recordings" / "test_once.db"
    assert (_interactions(db), _interactions(db.with_name("test_once.db.bak"))) == (1, 1)
    monkeypatch.setenv("PATHS", "/users/1,/users/2")
    pytester.runpytest_subprocess().assert_outcomes(passed=1)
    assert http_upstream.hits.count("GET /users/1") == 2
    assert http_upstream.hits.count("GET /users/2") == 1
    assert _interactions(db) == 2

    http_upstream.stop()
    pytester.runpytest_subprocess("--virt-mode=replay").assert_outcomes(passed=1)


def test_a_misspelled_mode_stops_the_run_naming_it(
    pytester: pytest.Pytester, confdir: Path
) -> None:
    _project(pytester, confdir, 'mode = "replya"')
    pytester.makepyfile("def test_nothing(): pass")
    result = pytester.runpytest_subprocess()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*[[]tool.virt] mode: unknown virt mode 'replya'*replay, record*"])


def test_replay_without_recordings_fails_the_test_saying_how_to_record(
    pytester: pytest.Pytester, confdir: Path
) -> None:
    _project(pytester, confdir)
    pytester.makepyfile(test_new="import pytest\n\n@pytest.mark.virt\ndef test_x(): pass")
    result = pytester.runpytest_subprocess()
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*virt: no recordings at */recordings/test_new.db*"])
    assert not (pytester.path / "recordings" / "test_new.db").exists()


def test_virt_db_is_a_path_from_where_pytest_started_whatever_a_test_changes_to(
    pytester: pytest.Pytester, confdir: Path
) -> None:
    _project(pytester, confdir)
    elsewhere = pytester.mkdir("elsewhere")
    pytester.makeconftest(
        f"""
        import os

        import pytest


        @pytest.fixture(scope="session", autouse=True)
        def _elsewhere():
            os.chdir({str(elsewhere)!r})
        """
    )
    pytester.makepyfile(test_any="import pytest\n\n@pytest.mark.virt\ndef test_x(): pass")
    result = pytester.runpytest_subprocess("--virt-mode=record", "--virt-db=recordings/all.db")
    result.assert_outcomes(passed=1)
    assert (pytester.path / "recordings" / "all.db").is_file()
    assert not (elsewhere / "recordings").exists()
