"""Faults on purpose, end to end: a recorded Stripe-like shop API (tests/e2e/shopserver.py) is
switched off, and `virt serve --fault ...` fails its requests the way networks and servers do,
for real clients with real retry logic (urllib3's Retry through requests, httpx with a retrying
transport), through both doors."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from tests.e2e.fallback import journal, record, serve
from tests.e2e.shopserver import create_app
from tests.helpers import free_port, trusting

FORM = {"amount": "2000", "currency": "usd", "description": "Coffee beans"}
JOBS = ("j1", "reset", "empty", "truncate", "slow")


@dataclass
class Shop:
    db: Path
    origin: str
    confdir: Path


def _drive(client: httpx.Client, origin: str) -> str:
    resp = client.post(f"{origin}/v1/charges", data=FORM, headers={"Idempotency-Key": "rec-1"})
    assert resp.status_code == 200, resp.text
    for job in JOBS:
        assert client.get(f"{origin}/v1/jobs/{job}").status_code == 200
    assert client.get(f"{origin}/v1/balance").status_code == 200
    assert client.get(f"{origin}/v1/balance", headers={"X-Burst": "1"}).status_code == 429
    assert client.get(f"{origin}/v1/slow").status_code == 200
    return origin


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory, confdir: Path) -> Shop:
    db, origin = record(create_app(), tmp_path_factory.mktemp("faults"), confdir, _drive)
    return Shop(db, origin, confdir)


@contextmanager
def virt(shop: Shop, *extra: str, proxy: bool = False) -> Iterator[tuple[str, str | None]]:
    """`virt serve` with `extra`: its direct door's base URL, and its proxy door's URL."""
    proxy_port = free_port() if proxy else 0
    with serve(shop.db, "--confdir", str(shop.confdir), *extra, proxy_port=proxy_port) as base:
        yield base, f"http://127.0.0.1:{proxy_port}" if proxy else None


def report(base: str) -> dict[str, Any]:
    resp = httpx.get(f"{base}/__virt/faults/report")
    assert resp.status_code == 200, resp.text
    body: dict[str, Any] = resp.json()
    return body


def retrying_session(**retry: Any) -> requests.Session:
    """requests with urllib3's Retry, as Stripe's and most SDKs configure it."""
    session = requests.Session()
    policy = Retry(allowed_methods=None, raise_on_status=False, backoff_factor=0.05, **retry)
    session.mount("http://", HTTPAdapter(max_retries=policy))
    return session


class RetryingTransport(httpx.BaseTransport):
    """httpx's transport retries connection failures only: this one retries the same request
    (same headers, same Idempotency-Key) on any transport error and on 503, with backoff."""

    def __init__(self, attempts: int = 3, **kwargs: Any) -> None:
        self.inner = httpx.HTTPTransport(**kwargs)
        self.attempts = attempts

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        for n in range(self.attempts):
            last = n == self.attempts - 1
            try:
                resp = self.inner.handle_request(request)
                if resp.status_code != 503 or last:
                    return resp
                resp.read()
                resp.close()
            except httpx.TransportError:
                if last:
                    raise
            time.sleep(0.05 * 2**n)
        raise AssertionError("unreachable")

    def close(self) -> None:
        self.inner.close()


def test_a_retried_charge_whose_answer_was_lost_gets_the_first_answer_not_a_second_charge(
    shop: Shop,
) -> None:
    key = f"idem-{uuid.uuid4()}"
    with virt(shop, "--fault", "POST /v1/charges: after x1") as (base, _):
        with retrying_session(total=2) as client:
            resp = client.post(f"{base}/v1/charges", data=FORM, headers={"Idempotency-Key": key})
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-virt-match"].endswith(";repeat")  # the kept first answer
        assert resp.json()["amount"] == 2000
        again = httpx.post(f"{base}/v1/charges", data=FORM, headers={"Idempotency-Key": key})
        assert again.json()["id"] == resp.json()["id"]
        faults = report(base)["faults"]
        entries = [e for e in journal(base) if e["method"] == "POST"]
    assert len(faults) == 1
    fault = faults[0]
    assert (fault["attempt"], fault["key"], fault["fault"]["action"]) == (1, key, "after empty")
    assert fault["next"]["did"] == "retried"
    assert (fault["next"]["key"], fault["next"]["status"]) == ("same", 200)
    # the journal says which answers were repeats: the first was answered, then faulted
    assert "fault" in entries[0]["explain"]
    assert "repeat" in entries[1]["explain"] and "repeat" in entries[2]["explain"]


@pytest.mark.parametrize("door", ["direct", "proxy"])
def test_httpx_with_a_retrying_transport_gets_the_recorded_charge_after_a_lost_answer(
    shop: Shop, door: str
) -> None:
    key = f"idem-{uuid.uuid4()}"
    with virt(shop, "--fault", "POST /v1/charges: after x1", proxy=door == "proxy") as (
        base,
        proxy,
    ):
        url = f"{base if proxy is None else shop.origin}/v1/charges"
        mounts = {"all://": RetryingTransport(proxy=proxy)} if proxy else None
        transport = None if proxy else RetryingTransport()
        with httpx.Client(transport=transport, mounts=mounts, timeout=10) as client:
            resp = client.post(url, data=FORM, headers={"Idempotency-Key": key})
        assert resp.status_code == 200, resp.text
        assert resp.headers["x-virt-match"].endswith(";repeat")
        fault = report(base)["faults"][0]
    assert fault["next"] == {**fault["next"], "did": "retried", "key": "same", "status": 200}


def test_a_naive_client_that_makes_a_new_key_per_attempt_is_caught(shop: Shop) -> None:
    with virt(shop, "--fault", "POST /v1/charges: after x1") as (base, _):
        for attempt in range(2):  # a retry loop that builds the request, key included, anew
            try:
                key = f"idem-{uuid.uuid4()}"
                httpx.post(f"{base}/v1/charges", data=FORM, headers={"Idempotency-Key": key})
                break
            except httpx.TransportError:
                assert attempt == 0
        fault = report(base)["faults"][0]
        page = httpx.get(f"{base}/__virt/ui/faults")  # the web page says the same
    assert fault["next"]["did"] == "retried"
    assert fault["next"]["key"] == "different"  # two keys for one logical charge
    assert fault["next"]["new_key"] not in (None, fault["key"])
    assert page.status_code == 200
    assert f"retried with another key, {fault['next']['new_key']}" in page.text


def test_a_polled_job_answers_503_twice_and_the_client_backs_off_to_the_third(
    shop: Shop,
) -> None:
    with virt(shop, "--fault", "GET /v1/jobs/{id}: 503 x2") as (base, _):
        with retrying_session(total=3, status_forcelist=[503]) as client:
            started = time.monotonic()
            resp = client.get(f"{base}/v1/jobs/j1")
            took = time.monotonic() - started
        assert resp.status_code == 200 and resp.json()["status"] == "done"
        faults = report(base)["faults"]
    assert [f["attempt"] for f in faults] == [1, 2]
    assert [f["next"]["status"] for f in faults] == [503, 200]
    assert took >= 0.05  # urllib3 slept between attempts (0.05 s, then 0.1 s)


def test_a_status_fault_answers_with_the_routes_recorded_error(shop: Shop) -> None:
    with virt(shop, "--fault", "GET /v1/balance: 429 #1") as (base, _):
        first = httpx.get(f"{base}/v1/balance")
        second = httpx.get(f"{base}/v1/balance")
        entry = journal(base)[-2]
        # the journal, its counts and the web page take a fault as any other answer
        assert (entry["match"], entry["status"]) == ("fault", 429)
        assert entry["explain"]["fault"]["attempt"] == 1
        assert httpx.get(f"{base}/__virt/stats").status_code == 200
        assert httpx.get(f"{base}/__virt/ui").status_code == 200
    assert first.status_code == 429
    assert first.headers["retry-after"] == "7"
    assert first.json()["error"]["type"] == "rate_limit_error"
    assert first.headers["x-virt-match"].startswith("fault;status=429")
    assert second.status_code == 200


def test_a_delay_on_the_first_attempt_trips_the_timeout_and_the_retry_succeeds(
    shop: Shop,
) -> None:
    with virt(shop, "--fault", "GET /v1/jobs/{id}: delay 600ms #1") as (base, _):
        with httpx.Client(timeout=httpx.Timeout(5, read=0.2)) as client:
            with pytest.raises(httpx.ReadTimeout):
                client.get(f"{base}/v1/jobs/j1")
            assert client.get(f"{base}/v1/jobs/j1").json()["status"] == "done"
        fault = report(base)["faults"][0]
    assert fault["fault"]["action"] == "delay 600ms"
    assert fault["next"]["did"] == "retried"


BROKEN = [
    "GET /v1/jobs/reset: reset",
    "GET /v1/jobs/empty: empty",
    "GET /v1/jobs/truncate: truncate",
    "GET /v1/jobs/slow: slow-body 5s",
    "GET /v1/jobs/garbage: garbage",
]


@pytest.fixture(scope="module")
def broken(shop: Shop) -> Iterator[tuple[str, str]]:
    faults = [arg for rule in BROKEN for arg in ("--fault", rule)]
    with virt(shop, *faults, proxy=True) as (base, proxy):
        assert proxy is not None
        yield base, proxy


def _target(shop: Shop, broken: tuple[str, str], door: str, job: str) -> tuple[str, str | None]:
    base, proxy = broken
    if door == "direct":
        return f"{base}/v1/jobs/{job}", None
    return f"{shop.origin}/v1/jobs/{job}", proxy


REQUESTS_RAISE: dict[str, type[Exception]] = {
    "reset": requests.ConnectionError,
    "empty": requests.ConnectionError,
    "truncate": requests.exceptions.ChunkedEncodingError,
    "slow": requests.ConnectionError,  # a read timeout while the body streams
}
HTTPX_RAISE: dict[str, tuple[type[Exception], ...]] = {
    "reset": (httpx.ReadError, httpx.RemoteProtocolError),
    "empty": (httpx.RemoteProtocolError,),
    "truncate": (httpx.RemoteProtocolError,),
    "slow": (httpx.ReadTimeout,),
}


@pytest.mark.parametrize("door", ["direct", "proxy"])
@pytest.mark.parametrize("job", ["reset", "empty", "truncate", "slow"])
def test_requests_raises_what_a_broken_connection_makes_it_raise(
    shop: Shop, broken: tuple[str, str], door: str, job: str
) -> None:
    url, proxy = _target(shop, broken, door, job)
    proxies = {"http": proxy} if proxy else None
    with pytest.raises(REQUESTS_RAISE[job]):
        requests.get(url, proxies=proxies, timeout=(5, 0.25)).content  # noqa: B018


@pytest.mark.parametrize("door", ["direct", "proxy"])
@pytest.mark.parametrize("job", ["reset", "empty", "truncate", "slow"])
def test_httpx_raises_what_a_broken_connection_makes_it_raise(
    shop: Shop, broken: tuple[str, str], door: str, job: str
) -> None:
    url, proxy = _target(shop, broken, door, job)
    timeout = httpx.Timeout(5, read=0.25)
    with httpx.Client(proxy=proxy, timeout=timeout) as client, pytest.raises(HTTPX_RAISE[job]):
        client.get(url)


@pytest.mark.parametrize("door", ["direct", "proxy"])
def test_garbage_is_not_http_to_either_client(
    shop: Shop, broken: tuple[str, str], door: str
) -> None:
    url, proxy = _target(shop, broken, door, "garbage")
    with pytest.raises(requests.ConnectionError):
        requests.get(url, proxies={"http": proxy} if proxy else None, timeout=5)
    with httpx.Client(proxy=proxy) as client, pytest.raises(httpx.RemoteProtocolError):
        client.get(url)


def test_a_broken_connection_leaves_the_server_serving(broken: tuple[str, str]) -> None:
    base, _ = broken
    with pytest.raises(httpx.TransportError):
        httpx.get(f"{base}/v1/jobs/reset")
    assert httpx.get(f"{base}/v1/jobs/j1").json()["status"] == "done"


def _statuses(shop: Shop, session: str, n: int, *extra: str) -> list[int]:
    with virt(shop, *extra) as (base, _):
        headers = {"X-Virt-Session": session}
        return [httpx.get(f"{base}/v1/jobs/j1", headers=headers).status_code for _ in range(n)]


def test_the_same_seed_session_and_order_fail_the_same_requests_in_a_fresh_process(
    shop: Shop,
) -> None:
    plan = ("--fault-seed", "7", "--fault", "GET /v1/jobs/{id}: 503 50%")
    first = _statuses(shop, "alice", 16, *plan)
    second = _statuses(shop, "alice", 16, *plan)
    assert first == second
    assert {200, 503} == set(first)


def test_two_sessions_do_not_share_attempt_counters(shop: Shop) -> None:
    with virt(shop, "--fault", "GET /v1/jobs/{id}: 503 x2") as (base, _):

        def get(session: str) -> int:
            resp = httpx.get(f"{base}/v1/jobs/j1", headers={"X-Virt-Session": session})
            return resp.status_code

        assert [get("a"), get("a"), get("a")] == [503, 503, 200]
        assert [get("b"), get("b"), get("b")] == [503, 503, 200]


def test_a_plan_set_over_the_admin_api_takes_effect_and_starts_the_report_again(
    shop: Shop,
) -> None:
    with virt(shop) as (base, _):
        assert httpx.get(f"{base}/v1/jobs/j1").status_code == 200
        put = httpx.put(f"{base}/__virt/faults", json={"faults": ["GET /v1/jobs/{id}: 502 #1"]})
        assert put.status_code == 200, put.text
        assert put.json()["faults"][0]["action"] == "502"
        assert httpx.get(f"{base}/v1/jobs/j1").status_code == 502
        assert httpx.get(f"{base}/v1/jobs/j1").status_code == 200
        assert report(base)["injected"] == {"502": 1}
        bad = httpx.put(f"{base}/__virt/faults", json={"faults": ["GET /x: explode"]})
        assert bad.status_code == 400 and "unknown fault 'explode'" in bad.json()["detail"]
        assert httpx.delete(f"{base}/__virt/faults").json()["faults"] == []
        assert httpx.get(f"{base}/v1/jobs/j1").status_code == 200


def _timed(get: Callable[[], httpx.Response]) -> float:
    started = time.monotonic()
    assert get().status_code == 200
    return time.monotonic() - started


def test_latency_recorded_answers_after_the_recorded_duration(shop: Shop) -> None:
    with virt(shop, "--latency", "recorded") as (base, _):
        with httpx.Client() as client:
            client.get(f"{base}/v1/balance")  # a warm connection
            took = _timed(lambda: client.get(f"{base}/v1/slow"))
        recorded = next(
            e["explain"]["latency_ms"] / 1000 for e in journal(base) if "/v1/slow" in e["url"]
        )
    assert recorded >= 0.3  # the upstream slept 0.3 s
    assert recorded - 0.01 <= took <= recorded + 0.15  # generous: a shared CI machine


def test_latency_none_answers_at_once(shop: Shop) -> None:
    with virt(shop) as (base, _), httpx.Client() as client:
        client.get(f"{base}/v1/balance")
        assert _timed(lambda: client.get(f"{base}/v1/slow")) < 0.2


def test_the_same_key_with_another_body_is_a_conflict_that_says_why(shop: Shop) -> None:
    key = f"idem-{uuid.uuid4()}"
    with virt(shop) as (base, _):
        first = httpx.post(f"{base}/v1/charges", data=FORM, headers={"Idempotency-Key": key})
        other = {**FORM, "amount": "9900"}
        clash = httpx.post(f"{base}/v1/charges", data=other, headers={"Idempotency-Key": key})
    assert first.status_code == 200
    assert clash.status_code == 409
    assert "first sent with another body" in clash.json()["error"]["message"]


def test_idempotency_key_headers_named_in_virt_toml_are_honoured(
    shop: Shop, tmp_path: Path
) -> None:
    config = tmp_path / "virt.toml"
    config.write_text('[idempotency]\nheaders = ["Stripe-Idem"]\n')
    key = f"idem-{uuid.uuid4()}"
    with virt(shop, "--config", str(config)) as (base, _):
        sent = [
            httpx.post(f"{base}/v1/charges", data=FORM, headers={"Stripe-Idem": key})
            for _ in range(2)
        ]
    assert sent[0].status_code == sent[1].status_code == 200
    assert not sent[0].headers["x-virt-match"].endswith(";repeat")
    assert sent[1].headers["x-virt-match"].endswith(";repeat")


@pytest.mark.parametrize("job", ["reset", "truncate"])
def test_faults_reach_a_client_inside_a_tls_tunnel_of_the_proxy_door(
    shop: Shop, broken: tuple[str, str], job: str
) -> None:
    _, proxy = broken
    ca = trusting(shop.confdir / "mitmproxy-ca-cert.pem")
    url = shop.origin.replace("http://", "https://") + f"/v1/jobs/{job}"
    raised = (httpx.ReadError, httpx.RemoteProtocolError)
    with httpx.Client(proxy=proxy, verify=ca) as client:
        # the tunnel itself works: a route no rule covers gets an answer (a miss: the
        # recordings are of http://)
        assert client.get(url.replace(job, "j1")).headers["x-virt-match"]
        with pytest.raises(raised):
            client.get(url)


def test_a_plan_set_over_the_admin_api_reaches_every_worker(shop: Shop) -> None:
    with virt(shop, "--workers", "2") as (base, _):
        put = httpx.put(f"{base}/__virt/faults", json={"faults": ["GET /v1/jobs/{id}: 502"]})
        assert put.status_code == 200, put.text

        def statuses(n: int) -> list[int]:
            # a connection each: the kernel spreads them over both workers
            return [httpx.get(f"{base}/v1/jobs/j1").status_code for _ in range(n)]

        statuses(8)  # each worker looks at the shared state at most every 0.5 s
        time.sleep(0.6)
        statuses(8)
        assert statuses(12) == [502] * 12
        httpx.delete(f"{base}/__virt/faults")
        statuses(8)
        time.sleep(0.6)
        statuses(8)
        assert statuses(12) == [200] * 12
