"""A real AWS upstream for tests: moto's server as a subprocess, driven by boto3 S3 and DynamoDB."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from tests.helpers import clean_env, free_port, port_open, wait_for

REGION = "eu-west-1"
BUCKET = "virt-replay"
PRESIGNED_KEY = "blobs/all-bytes.bin"
TABLE = "orders"
TEXT = b"hello from virt\n"
BINARY = bytes(range(256)) * 4
"""Every byte value, so nothing on the way may treat the object as text."""


@dataclass(frozen=True)
class Keys:
    """Fake credentials: moto accepts any, and they only have to differ between the runs."""

    access_key: str
    secret_key: str
    token: str | None = None


RECORDING_KEYS = Keys("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
REPLAY_KEYS = Keys(
    "ASIAI44QH8DHBEXAMPLE",
    "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY",
    "IQoJb3JpZ2luX2VjEXAMPLESESSIONTOKEN",
)
"""Temporary credentials with a session token: every signature and credential scope differs."""
OTHER_KEYS = Keys("AKIAI44QH8DHBEXAMPLE", "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY")
"""Other long-term credentials, without a session token."""


@dataclass
class Moto:
    """`python -m moto.server` on 127.0.0.1 and a free port, its output kept for failures."""

    log_path: Path
    port: int = 0
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Moto:
        self.port = free_port()
        with self.log_path.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                env=clean_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        proc = self.proc

        def up() -> bool:
            assert proc.poll() is None, f"moto exited early:\n{self.output()}"
            return port_open(self.port)

        wait_for(up, timeout=30, what="moto's server")
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def output(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class Sent:
    """What botocore put on the wire, request by request: method, URL and signed headers."""

    requests: list[tuple[str, str, dict[str, str]]] = field(default_factory=list)

    def hook(self, request: Any, **_: Any) -> None:
        headers = {
            k: v.decode("latin-1") if isinstance(v, bytes) else v
            for k, v in request.headers.items()
        }
        self.requests.append((request.method, request.url, headers))


def clients(
    keys: Keys, endpoint: str, proxy: str | None = None, sent: Sent | None = None
) -> tuple[Any, Any]:
    """boto3 S3 and DynamoDB clients for `endpoint`, through `proxy` when given.

    No retries: a retried call would hide a miss. `sent`, when given, sees each request after
    signing.
    """
    session = _session(keys)
    config = _config(proxy)
    s3 = session.client("s3", endpoint_url=endpoint, config=config.merge(_s3_config("s3v4")))
    dynamodb = session.client("dynamodb", endpoint_url=endpoint, config=config)
    if sent is not None:
        for client in (s3, dynamodb):
            client.meta.events.register("before-send", sent.hook)
    return s3, dynamodb


def presign(keys: Keys, endpoint: str, expires: int, signature_version: str = "s3v4") -> str:
    """A presigned GetObject URL for PRESIGNED_KEY. For an endpoint_url, boto3 presigns with
    SigV2 ("s3") unless told otherwise; SDK calls are SigV4 either way."""
    s3 = _session(keys).client(
        "s3", endpoint_url=endpoint, config=_config(None).merge(_s3_config(signature_version))
    )
    params = {"Bucket": BUCKET, "Key": PRESIGNED_KEY}
    return str(s3.generate_presigned_url("get_object", Params=params, ExpiresIn=expires))


def _session(keys: Keys) -> boto3.Session:
    return boto3.Session(
        aws_access_key_id=keys.access_key,
        aws_secret_access_key=keys.secret_key,
        aws_session_token=keys.token,
        region_name=REGION,
    )


def _config(proxy: str | None) -> Config:
    return Config(
        proxies={"http": proxy, "https": proxy} if proxy else None, retries={"max_attempts": 1}
    )


def _s3_config(signature_version: str) -> Config:
    # path-style addressing: moto serves buckets on an IP address, not on bucket host names
    return Config(s3={"addressing_style": "path"}, signature_version=signature_version)


def _order(pk: str, sk: str, total: int) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}, "total": {"N": str(total)}}


def s3_calls(s3: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Create a bucket, put a text and a binary object, list, get, head, delete."""
    return [
        (
            "CreateBucket",
            lambda: s3.create_bucket(
                Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION}
            ),
        ),
        (
            "PutObject text",
            lambda: s3.put_object(
                Bucket=BUCKET, Key="notes/hello.txt", Body=TEXT, ContentType="text/plain"
            ),
        ),
        (
            "PutObject binary",
            lambda: s3.put_object(
                Bucket=BUCKET,
                Key=PRESIGNED_KEY,
                Body=BINARY,
                ContentType="application/octet-stream",
            ),
        ),
        ("ListObjectsV2", lambda: s3.list_objects_v2(Bucket=BUCKET)),
        ("GetObject text", lambda: s3.get_object(Bucket=BUCKET, Key="notes/hello.txt")),
        ("GetObject binary", lambda: s3.get_object(Bucket=BUCKET, Key=PRESIGNED_KEY)),
        ("HeadObject", lambda: s3.head_object(Bucket=BUCKET, Key=PRESIGNED_KEY)),
        ("DeleteObject", lambda: s3.delete_object(Bucket=BUCKET, Key="notes/hello.txt")),
        ("ListObjectsV2 after delete", lambda: s3.list_objects_v2(Bucket=BUCKET)),
    ]


def dynamodb_calls(dynamodb: Any) -> list[tuple[str, Callable[[], Any]]]:
    """Create a table, put items, get one, query a partition, scan the table."""
    key_schema = [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    attributes = [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    items = [
        _order("ada", "2024-01", 12),
        _order("ada", "2024-02", 30),
        _order("bob", "2024-01", 7),
    ]
    return [
        (
            "CreateTable",
            lambda: dynamodb.create_table(
                TableName=TABLE,
                KeySchema=key_schema,
                AttributeDefinitions=attributes,
                BillingMode="PAY_PER_REQUEST",
            ),
        ),
        ("DescribeTable", lambda: dynamodb.describe_table(TableName=TABLE)),
        *[
            (f"PutItem {i}", lambda item=item: dynamodb.put_item(TableName=TABLE, Item=item))
            for i, item in enumerate(items)
        ],
        (
            "GetItem",
            lambda: dynamodb.get_item(
                TableName=TABLE, Key={"pk": {"S": "ada"}, "sk": {"S": "2024-02"}}
            ),
        ),
        (
            "Query",
            lambda: dynamodb.query(
                TableName=TABLE,
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": {"S": "ada"}},
            ),
        ),
        ("Scan", lambda: dynamodb.scan(TableName=TABLE)),
    ]


def outcome(response: dict[str, Any]) -> dict[str, Any]:
    """What a caller sees of a boto3 response: its data and status, bodies read, virt's own
    headers and the per-request metadata left out."""
    data = {k: v for k, v in response.items() if k != "ResponseMetadata"}
    if "Body" in data:
        data["Body"] = data["Body"].read()
    data["HTTPStatusCode"] = response["ResponseMetadata"]["HTTPStatusCode"]
    return data


def virt_match(response: dict[str, Any]) -> str:
    """The X-Virt-Match header of a boto3 response ("" when virt did not answer)."""
    return str(response["ResponseMetadata"]["HTTPHeaders"].get("x-virt-match", ""))


def amz_now() -> str:
    """The current time as SigV4 spells it in X-Amz-Date."""
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
