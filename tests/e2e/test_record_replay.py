"""Record the bundled upstream through `virt record`, switch it off, replay through both doors."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import requests
import trustme

from demo.upstream import create_app
from tests.e2e.recording import CALLS, NEW_USER, POLLS, Recording, call, end_to_end, key
from tests.helpers import (
    Tripwire,
    Upstream,
    VirtProcess,
    clean_env,
    free_port,
    health_ok,
    port_open,
    trusting,
)


@pytest.fixture(scope="module")
def recording(
    tmp_path_factory: pytest.TempPathFactory,
    upstream_ca: trustme.CA,
    upstream_ca_path: Path,
    confdir: Path,
) -> Iterator[Recording]:
    """Every CALL and a polled job, recorded over HTTPS via the proxy; then the upstream is off."""
    tmp = tmp_path_factory.mktemp("recording")
    cert = upstream_ca.issue_cert("127.0.0.1")
    cert.cert_chain_pems[0].write_to_path(str(tmp / "cert.pem"))
    cert.private_key_pem.write_to_path(str(tmp / "key.pem"))
    upstream = Upstream(
        create_app(),
        scheme="https",
        ssl={"ssl_certfile": str(tmp / "cert.pem"), "ssl_keyfile": str(tmp / "key.pem")},
    ).start()
    db = tmp / "api.db"
    port = free_port()
    recorder = VirtProcess(
        ["record", "--db", str(db), "--port", str(port), "--confdir", str(confdir)],
        clean_env(SSL_CERT_FILE=str(upstream_ca_path)),
        tmp,
    ).start(lambda: port_open(port))
    rec = Recording(db, upstream.url)
    try:
        with httpx.Client(
            proxy=f"http://127.0.0.1:{port}", verify=trusting(confdir / "mitmproxy-ca-cert.pem")
        ) as client:
            for method, target, kw in CALLS:
                rec.seen[key(method, target)] = call(client, upstream.url, method, target, kw)
            assert client.post(upstream.url + "/jobs").status_code == 202
            for _ in range(POLLS):
                rec.polls.append(client.get(upstream.url + "/jobs/job-1").json()["state"])
    finally:
        assert recorder.stop() == 0, recorder.output()
        upstream.stop()
    assert rec.polls == ["pending", "pending", "done"]
    statuses = {k: s.status for k, s in rec.seen.items()}
    assert all(s < 500 for s in statuses.values()), (
        f"the upstream failed while recording: {statuses}"
    )
    assert rec.seen[key("POST", "/login")].content.startswith(b'{"user":"ada"')
    assert not port_open(upstream.port), "the upstream must be off during replay"
    yield rec


@pytest.fixture(scope="module")
def server(
    recording: Recording, confdir: Path, upstream_ca_path: Path
) -> Iterator[tuple[int, int]]:
    """One `virt serve` on the recording for the tests that only read: (direct port, proxy port)."""
    port, proxy_port = free_port(), free_port()
    args = [
        "serve",
        "--db",
        str(recording.db),
        "--port",
        str(port),
        "--proxy-port",
        str(proxy_port),
        "--confdir",
        str(confdir),
    ]
    proc = VirtProcess(args, clean_env(), recording.db.parent).start(
        lambda: health_ok(port) and port_open(proxy_port)
    )
    yield port, proxy_port
    assert proc.stop() == 0, proc.output()


@pytest.mark.parametrize(("method", "target", "kw"), CALLS, ids=[key(m, t) for m, t, _ in CALLS])
def test_proxy_door_replays_status_headers_and_body_byte_for_byte(
    recording: Recording, server: tuple[int, int], confdir: Path, method: str, target: str, kw: dict
) -> None:
    _, proxy_port = server
    with httpx.Client(
        proxy=f"http://127.0.0.1:{proxy_port}", verify=trusting(confdir / "mitmproxy-ca-cert.pem")
    ) as client:
        replayed = call(client, recording.origin, method, target, kw)
    recorded = recording.seen[key(method, target)]
    assert replayed.status == recorded.status
    assert replayed.headers == recorded.headers
    assert replayed.raw == recorded.raw
    assert replayed.content == recorded.content


@pytest.mark.parametrize(("method", "target", "kw"), CALLS, ids=[key(m, t) for m, t, _ in CALLS])
def test_direct_door_replays_status_headers_and_body_byte_for_byte(
    recording: Recording, server: tuple[int, int], method: str, target: str, kw: dict
) -> None:
    port, _ = server
    with httpx.Client() as client:
        replayed = call(client, f"http://127.0.0.1:{port}", method, target, kw)
    recorded = recording.seen[key(method, target)]
    assert replayed.status == recorded.status
    assert replayed.headers == recorded.headers
    assert replayed.raw == recorded.raw


def test_replay_marks_exact_matches_with_the_interaction_id(
    recording: Recording, server: tuple[int, int]
) -> None:
    port, _ = server
    r = httpx.get(f"http://127.0.0.1:{port}/users/1")
    assert r.headers["x-virt-match"] == "exact"
    rid = int(r.headers["x-virt-recording"])
    import sqlite3

    with sqlite3.connect(recording.db) as conn:
        path, status = conn.execute(
            "SELECT path, status FROM interactions WHERE id = ?", (rid,)
        ).fetchone()
    assert (path, status) == ("/users/1", 200)


def test_gzip_response_is_stored_decoded_and_replayed_as_recorded_wire_bytes(
    recording: Recording, server: tuple[int, int]
) -> None:
    import sqlite3

    with sqlite3.connect(recording.db) as conn:
        body, coding, wire = conn.execute(
            "SELECT response_body, response_encoding, response_wire_body "
            "FROM interactions WHERE path = '/report'"
        ).fetchone()
    assert coding == "gzip"
    assert json.loads(body)["rows"][2] == {"n": 2, "square": 4}
    recorded = recording.seen[key("GET", "/report")]
    assert wire == recorded.raw
    port, _ = server
    with (
        httpx.Client() as client,
        client.stream(
            "GET", f"http://127.0.0.1:{port}/report", headers={"Accept-Encoding": "gzip"}
        ) as r,
    ):
        assert r.headers["content-encoding"] == "gzip"
        assert b"".join(r.iter_raw()) == wire


def test_chunked_response_replays_chunked(recording: Recording, server: tuple[int, int]) -> None:
    port, _ = server
    out = subprocess.run(
        ["curl", "-s", "-i", "--raw", f"http://127.0.0.1:{port}/export"],
        capture_output=True,
        check=True,
    ).stdout
    head, _, body = out.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    assert b"line 4\n" in body
    assert body.endswith(b"0\r\n\r\n")


def test_sse_stream_replays_every_event(recording: Recording, server: tuple[int, int]) -> None:
    port, _ = server
    r = httpx.get(f"http://127.0.0.1:{port}/events")
    assert r.headers["content-type"].startswith("text/event-stream")
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert events == [{"n": 0}, {"n": 1}, {"n": 2}]


def test_requests_client_through_proxy_door(
    recording: Recording, server: tuple[int, int], confdir: Path
) -> None:
    _, proxy_port = server
    proxies = {"https": f"http://127.0.0.1:{proxy_port}"}
    ca = str(confdir / "mitmproxy-ca-cert.pem")
    for method, target, kw in CALLS:
        kw = {"data" if k == "content" else k: v for k, v in kw.items()}
        r = requests.request(method, recording.origin + target, proxies=proxies, verify=ca, **kw)
        recorded = recording.seen[key(method, target)]
        assert r.status_code == recorded.status, target
        assert r.content == recorded.content, target
        assert end_to_end(r.headers.items()) == recorded.headers, target


def test_curl_through_both_doors(
    recording: Recording, server: tuple[int, int], confdir: Path
) -> None:
    port, proxy_port = server
    ca = str(confdir / "mitmproxy-ca-cert.pem")
    recorded = recording.seen[key("GET", "/logo.png")]
    via_proxy = subprocess.run(
        [
            "curl",
            "-sS",
            "--fail",
            "--proxy",
            f"http://127.0.0.1:{proxy_port}",
            "--cacert",
            ca,
            recording.origin + "/logo.png",
        ],
        capture_output=True,
        check=True,
    ).stdout
    direct = subprocess.run(
        ["curl", "-sS", "--fail", f"http://127.0.0.1:{port}/logo.png"],
        capture_output=True,
        check=True,
    ).stdout
    assert via_proxy == direct == recorded.raw
    post = subprocess.run(
        [
            "curl",
            "-sS",
            "-X",
            "POST",
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            NEW_USER.decode(),
            "-w",
            "\n%{http_code}",
            f"http://127.0.0.1:{port}/users",
        ],
        capture_output=True,
        check=True,
        text=True,
    ).stdout
    body, _, status = post.rpartition("\n")
    assert status == "201"
    assert json.loads(body) == json.loads(recording.seen[key("POST", "/users")].content)


def test_polling_job_replays_pending_pending_done_then_stays_done(
    recording: Recording, server: tuple[int, int], confdir: Path
) -> None:
    port, proxy_port = server
    assert httpx.post(f"http://127.0.0.1:{port}/__virt/reset").status_code == 200
    direct = [httpx.get(f"http://127.0.0.1:{port}/jobs/job-1").json()["state"] for _ in range(4)]
    assert direct == ["pending", "pending", "done", "done"]
    assert httpx.post(f"http://127.0.0.1:{port}/__virt/reset").status_code == 200
    with httpx.Client(
        proxy=f"http://127.0.0.1:{proxy_port}", verify=trusting(confdir / "mitmproxy-ca-cert.pem")
    ) as client:
        via_proxy = [client.get(recording.origin + "/jobs/job-1").json()["state"] for _ in range(4)]
    assert via_proxy == ["pending", "pending", "done", "done"]


def test_miss_answers_599_and_never_touches_the_network(
    recording: Recording, server: tuple[int, int], confdir: Path
) -> None:
    upstream_port = int(recording.origin.rsplit(":", 1)[1])
    tripwire = Tripwire(upstream_port)  # listens where the real upstream was
    try:
        port, proxy_port = server
        with httpx.Client(
            proxy=f"http://127.0.0.1:{proxy_port}",
            verify=trusting(confdir / "mitmproxy-ca-cert.pem"),
        ) as client:
            hit = client.get(recording.origin + "/users/1")
            # a route nothing recorded: a miss
            miss = client.get(recording.origin + "/accounts/99?x=1")
            miss_post = client.post(recording.origin + "/accounts", json={"name": "nobody"})
            # a known route, an id nobody recorded: made up from the recordings, not fetched
            fallback = client.get(recording.origin + "/users/99?x=1")
        direct_miss = httpx.get(f"http://127.0.0.1:{port}/nowhere")
    finally:
        tripwire.close()
    assert hit.status_code == 200
    for r in (miss, miss_post, direct_miss):
        assert r.status_code == 599
        assert r.headers["x-virt-match"] == "miss"
        assert r.headers["content-type"] == "application/json"
    assert fallback.headers["x-virt-match"] == "fallback;source=template"
    report = miss.json()
    assert report["request"] == {"method": "GET", "url": recording.origin + "/accounts/99?x=1"}
    assert direct_miss.json()["request"]["method"] == "GET"
    assert tripwire.connections == 0


def test_miss_is_logged(recording: Recording, virt) -> None:  # type: ignore[no-untyped-def]
    proc, port, _ = virt.serve(recording.db)
    for _ in range(3):
        httpx.get(f"http://127.0.0.1:{port}/accounts/12345")
    httpx.get(f"http://127.0.0.1:{port}/accounts/7")
    proc.stop()
    output = proc.output()
    assert "miss GET" in output
    assert "/accounts/12345" in output
    # at stop, a table of the distinct misses, most frequent first, each saying why
    report = output[output.index("4 misses, 2 distinct requests") :]
    assert report.index("/accounts/12345") < report.index("/accounts/7")
    assert "nothing was recorded for GET /accounts/{id}" in report


def test_with_no_fallback_an_unrecorded_id_is_a_miss_with_its_nearest_recordings(
    recording: Recording,
    virt,  # type: ignore[no-untyped-def]
) -> None:
    proc, port, _ = virt.serve(recording.db, "--no-fallback")
    miss = httpx.get(f"http://127.0.0.1:{port}/users/99?x=1")
    proc.stop()
    assert (miss.status_code, miss.headers["x-virt-match"]) == (599, "miss")
    assert any(n["url"].endswith("/users/1") for n in miss.json()["nearest"])


def test_two_fresh_servers_answer_the_same_requests_byte_identically(
    recording: Recording,
    virt,
    tmp_path: Path,  # type: ignore[no-untyped-def]
) -> None:
    def raw_exchange(port: int, request: bytes) -> bytes:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(request)
            chunks = []
            while data := s.recv(65536):
                chunks.append(data)
        return b"".join(chunks)

    origin = recording.origin.removeprefix("https://")
    direct = [
        f"GET {t} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        for t in [
            "/users",
            "/users/1",
            "/logo.png",
            "/report",
            "/export",
            "/events",
            "/jobs/job-1",
            "/jobs/job-1",
            "/jobs/job-1",
            "/jobs/job-1",
            "/missing",
        ]
    ]
    body = NEW_USER
    direct.append(
        b"POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body)
    )
    # plain-HTTP absolute-form requests to the proxy door, for an origin that was recorded as https
    proxied = [
        f"GET http://{origin}/users/1 HTTP/1.1\r\nHost: {origin}\r\n"
        "Connection: close\r\n\r\n".encode()
    ]

    db_copy = tmp_path / "copy.db"
    shutil.copy(recording.db, db_copy)
    answers = []
    for db in (recording.db, db_copy):
        proc, port, proxy_port = virt.serve(db)
        answers.append(
            [raw_exchange(port, r) for r in direct] + [raw_exchange(proxy_port, r) for r in proxied]
        )
        proc.stop()
    assert answers[0] == answers[1]
    assert all(a.startswith(b"HTTP/1.1 ") for a in answers[0])
    assert answers[0][6] != answers[0][8], "the polled job moved on between the requests"


def test_json_sent_in_another_key_order_matches_fuzzily(
    recording: Recording, server: tuple[int, int]
) -> None:
    port, _ = server
    reordered = b'{\n  "tags": ["a", "b"],\n  "name": "Edsger"\n}'
    r = httpx.post(
        f"http://127.0.0.1:{port}/users",
        content=reordered,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 201
    assert r.headers["x-virt-match"] == "fuzzy;score=1.00"
    assert r.content == recording.seen[key("POST", "/users")].content


def test_two_sessions_polling_the_same_job_each_see_pending_pending_done(
    recording: Recording, server: tuple[int, int], confdir: Path
) -> None:
    port, proxy_port = server
    assert httpx.post(f"http://127.0.0.1:{port}/__virt/reset").status_code == 200
    seen: dict[str, list[str]] = {"a": [], "b": []}
    with httpx.Client(
        proxy=f"http://127.0.0.1:{proxy_port}", verify=trusting(confdir / "mitmproxy-ca-cert.pem")
    ) as via_proxy:
        for _ in range(3):  # interleaved, one through each door
            a = httpx.get(f"http://127.0.0.1:{port}/jobs/job-1", headers={"X-Virt-Session": "a"})
            b = via_proxy.get(recording.origin + "/jobs/job-1", headers={"X-Virt-Session": "b"})
            seen["a"].append(a.json()["state"])
            seen["b"].append(b.json()["state"])
    assert seen == {"a": ["pending", "pending", "done"], "b": ["pending", "pending", "done"]}
