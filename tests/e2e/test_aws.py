"""boto3 against a real moto server: S3 and DynamoDB recorded through `virt record`, moto switched
off, then replayed later with other credentials, so every SigV4 signature and date is new."""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest
import requests

from tests.e2e.aws import (
    BINARY,
    OTHER_KEYS,
    RECORDING_KEYS,
    REPLAY_KEYS,
    TABLE,
    TEXT,
    Keys,
    Moto,
    Sent,
    amz_now,
    clients,
    dynamodb_calls,
    outcome,
    presign,
    s3_calls,
    virt_match,
)
from tests.helpers import (
    PROXY_AND_CA_VARS,
    Tripwire,
    VirtProcess,
    clean_env,
    free_port,
    health_ok,
    port_open,
    wait_for,
)

if TYPE_CHECKING:
    from tests.conftest import Virt

EXPIRES = 900
"""Lifetime of the presigned URLs, in seconds."""


@pytest.fixture(scope="module", autouse=True)
def _no_aws_config(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """boto3 sees no profile, config file, endpoint or proxy from the shell that runs pytest."""
    missing = tmp_path_factory.mktemp("aws") / "none"
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.upper().startswith("AWS_") or name.upper() in PROXY_AND_CA_VARS:
                mp.delenv(name)
        mp.setenv("AWS_CONFIG_FILE", str(missing))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(missing))
        yield


@dataclass
class AwsRecording:
    db: Path
    origin: str
    """moto's URL while recording; nothing listens there any more."""
    names: list[str]
    """The boto3 calls, in the order they were made and recorded (interaction ids 1, 2, ...)."""
    outcomes: dict[str, dict[str, Any]]
    sent: Sent
    presigned: dict[str, str]
    """Presigned GET URL by signature version ("s3v4", "s3"), each fetched once while recording."""
    finished: str
    """X-Amz-Date's spelling of the second the recording ended in."""

    def interaction_id(self, url: str) -> int:
        """The id of the interaction recorded for `url` (the presigned fetches). Its signature
        and credential were redacted on the way in, so it is found by what was not secret."""
        parts = urlsplit(url)
        public = {
            k: v
            for k, v in parse_qsl(parts.query)
            if k.lower()
            not in {"x-amz-signature", "x-amz-credential", "signature", "awsaccesskeyid"}
        }
        with sqlite3.connect(self.db) as conn:
            rows = conn.execute(
                "SELECT id, query FROM interactions WHERE path = ?", (parts.path,)
            ).fetchall()
        (found,) = [id for id, query in rows if public.items() <= dict(parse_qsl(query)).items()]
        return int(found)


@pytest.fixture(scope="module")
def aws_recording(
    tmp_path_factory: pytest.TempPathFactory, confdir: Path, _no_aws_config: None
) -> Iterator[AwsRecording]:
    """S3 and DynamoDB calls and two presigned GETs recorded through the proxy; then moto is off."""
    tmp = tmp_path_factory.mktemp("aws-recording")
    db = tmp / "aws.db"
    port = free_port()
    proxy = f"http://127.0.0.1:{port}"
    recorder = VirtProcess(
        ["record", "--db", str(db), "--port", str(port), "--confdir", str(confdir)],
        clean_env(),
        tmp,
    ).start(lambda: port_open(port))
    moto = Moto(tmp / "moto.log")
    try:
        moto.start()
        sent = Sent()
        s3, dynamodb = clients(RECORDING_KEYS, moto.url, proxy, sent)
        calls = s3_calls(s3) + dynamodb_calls(dynamodb)
        responses = {name: call() for name, call in calls}
        presigned = {v: presign(RECORDING_KEYS, moto.url, EXPIRES, v) for v in ("s3v4", "s3")}
        fetched = {v: httpx.get(url, proxy=proxy) for v, url in presigned.items()}
        finished = amz_now()
    finally:
        assert recorder.stop() == 0, recorder.output()
        moto.stop()
    assert not port_open(moto.port), "moto must be off during replay"
    assert all(virt_match(r) == "" for r in responses.values())
    for version, r in fetched.items():
        assert (r.status_code, r.content) == (200, BINARY), f"{version}: {r.text[:300]}"
    outcomes = {name: outcome(r) for name, r in responses.items()}
    assert outcomes["GetObject text"]["Body"] == TEXT
    assert outcomes["GetObject binary"]["Body"] == BINARY
    assert [o["Key"] for o in outcomes["ListObjectsV2"]["Contents"]] == [
        "blobs/all-bytes.bin",
        "notes/hello.txt",
    ]
    assert len(outcomes["ListObjectsV2 after delete"]["Contents"]) == 1
    assert outcomes["Query"]["Count"] == 2
    assert outcomes["Scan"]["Count"] == 3
    with sqlite3.connect(db) as conn:
        (count,) = conn.execute("SELECT count(*) FROM interactions").fetchone()
    assert count == len(calls) + len(presigned), recorder.output()
    names = [name for name, _ in calls]
    yield AwsRecording(db, moto.url, names, outcomes, sent, presigned, finished)


@pytest.fixture(scope="module")
def replay_server(aws_recording: AwsRecording, confdir: Path) -> Iterator[tuple[int, int]]:
    """One `virt serve` on the recording, for the tests that send one request each: (direct port,
    proxy port). The tests that check a whole journal or a sequence start their own."""
    port, proxy_port = free_port(), free_port()
    args = ["serve", "--db", str(aws_recording.db), "--port", str(port)]
    args += ["--proxy-port", str(proxy_port), "--confdir", str(confdir)]
    proc = VirtProcess(args, clean_env(), aws_recording.db.parent).start(
        lambda: health_ok(port) and port_open(proxy_port)
    )
    yield port, proxy_port
    assert proc.stop() == 0, proc.output()


def journal(port: int) -> list[dict[str, Any]]:
    """Everything the server answered since it started, oldest first."""
    r = httpx.get(f"http://127.0.0.1:{port}/__virt/journal", params={"limit": 1000})
    assert r.status_code == 200, r.text
    return list(reversed(r.json()["entries"]))


def later_than_recording(recording: AwsRecording) -> None:
    """Wait until X-Amz-Date has moved past every date signed while recording."""
    last = recording.finished
    wait_for(lambda: amz_now() > last, timeout=5, what="the clock to pass " + last)


def signature(headers: dict[str, str]) -> str:
    return headers["Authorization"].rpartition("Signature=")[2]


@pytest.mark.parametrize("door", ["proxy", "direct"])
def test_boto3_s3_and_dynamodb_calls_replay_with_fresh_signatures_all_matched(
    aws_recording: AwsRecording, virt: Virt, door: str
) -> None:
    _, port, proxy_port = virt.serve(aws_recording.db)
    later_than_recording(aws_recording)
    moto_port = int(aws_recording.origin.rpartition(":")[2])
    tripwire = Tripwire(moto_port)
    sent = Sent()
    if door == "proxy":  # the client still names moto's address; the proxy door answers for it
        s3, dynamodb = clients(
            REPLAY_KEYS, aws_recording.origin, f"http://127.0.0.1:{proxy_port}", sent
        )
    else:  # endpoint_url is virt itself: the only recorded upstream is the one it stands for
        s3, dynamodb = clients(REPLAY_KEYS, f"http://127.0.0.1:{port}", sent=sent)
    try:
        calls = s3_calls(s3) + dynamodb_calls(dynamodb)
        responses = {name: call() for name, call in calls}
    finally:
        tripwire.close()

    assert [name for name, _ in calls] == aws_recording.names
    for name, response in responses.items():
        assert outcome(response) == aws_recording.outcomes[name], name
        assert virt_match(response).partition(";")[0] in ("exact", "fuzzy"), name

    # every request was signed afresh: other key, other date, other signature
    recorded = aws_recording.sent.requests
    assert len(sent.requests) == len(recorded)
    for (method, _, old), (new_method, _, new) in zip(recorded, sent.requests, strict=True):
        assert new_method == method
        assert new["X-Amz-Date"] > old["X-Amz-Date"]
        assert signature(new) != signature(old)
        assert RECORDING_KEYS.access_key in old["Authorization"]
        assert REPLAY_KEYS.access_key in new["Authorization"]
        assert new["X-Amz-Security-Token"] == REPLAY_KEYS.token
        assert "X-Amz-Security-Token" not in old
        assert new["amz-sdk-invocation-id"] != old["amz-sdk-invocation-id"]

    # the journal: one entry per call, each answered by the recording of that very call
    entries = journal(port)
    assert [(e["door"], e["method"], e["status"]) for e in entries] == [
        (door, method, outcome(r)["HTTPStatusCode"])
        for (method, _, _), r in zip(sent.requests, responses.values(), strict=True)
    ]
    assert {e["match"] for e in entries} <= {"exact", "fuzzy"}, entries
    assert [e["interaction_id"] for e in entries] == list(range(1, len(calls) + 1))
    assert tripwire.connections == 0, "a request reached moto's address"


FRESH_SIGNATURE = {
    "s3v4": ("X-Amz-Date", "X-Amz-Credential", "X-Amz-Signature"),
    "s3": ("AWSAccessKeyId", "Signature", "Expires"),
}
"""Query parameters of a presigned URL that a fresh presign changes, by signature version."""


@pytest.mark.parametrize("door", ["proxy", "direct"])
@pytest.mark.parametrize(
    ("keys", "signature_version"),
    [
        pytest.param(OTHER_KEYS, "s3v4", id="SigV4"),
        pytest.param(REPLAY_KEYS, "s3v4", id="SigV4-session-token-only-at-replay"),
        pytest.param(OTHER_KEYS, "s3", id="SigV2-absolute-Expires"),
    ],
)
def test_fresh_presigned_s3_url_is_matched_to_the_recorded_one(
    aws_recording: AwsRecording,
    replay_server: tuple[int, int],
    keys: Keys,
    signature_version: str,
    door: str,
) -> None:
    port, proxy_port = replay_server
    later_than_recording(aws_recording)
    recorded_url = aws_recording.presigned[signature_version]
    url = presign(keys, aws_recording.origin, EXPIRES, signature_version)
    old, new = dict(parse_qsl(urlsplit(recorded_url).query)), dict(parse_qsl(urlsplit(url).query))
    for param in FRESH_SIGNATURE[signature_version]:
        assert new[param] != old[param], param
    if door == "proxy":
        r = requests.get(url, proxies={"http": f"http://127.0.0.1:{proxy_port}"}, timeout=10)
    else:
        r = requests.get(urlsplit(url)._replace(netloc=f"127.0.0.1:{port}").geturl(), timeout=10)
    assert r.status_code == 200, r.text  # a miss: the nearest recordings, field by field
    assert r.content == BINARY
    assert r.headers["x-virt-match"].startswith("fuzzy;score=")
    entry = journal(port)[-1]
    assert (entry["door"], entry["match"]) == (door, "fuzzy")
    assert entry["interaction_id"] == aws_recording.interaction_id(recorded_url)


def test_fresh_presigned_s3_url_for_another_lifetime_is_matched(
    aws_recording: AwsRecording, replay_server: tuple[int, int]
) -> None:
    _, proxy_port = replay_server
    later_than_recording(aws_recording)
    url = presign(OTHER_KEYS, aws_recording.origin, EXPIRES * 2)
    r = requests.get(url, proxies={"http": f"http://127.0.0.1:{proxy_port}"}, timeout=10)
    assert r.status_code == 200, r.text
    assert r.content == BINARY


def test_dynamodb_operations_with_the_same_body_replay_in_any_order(
    aws_recording: AwsRecording, virt: Virt
) -> None:
    _, _, proxy_port = virt.serve(aws_recording.db)
    _, dynamodb = clients(REPLAY_KEYS, aws_recording.origin, f"http://127.0.0.1:{proxy_port}")
    scan = outcome(dynamodb.scan(TableName=TABLE))  # recorded after DescribeTable
    table = outcome(dynamodb.describe_table(TableName=TABLE))
    assert scan == aws_recording.outcomes["Scan"]
    assert table == aws_recording.outcomes["DescribeTable"]
