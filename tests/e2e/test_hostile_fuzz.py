"""Hostile input against a running `virt serve` and `virt import`: never a 500, never a hang past a
bound, never a silent drop, and memory that stays bounded.

Both doors get requests that hypothesis builds from the shapes that hurt servers: bodies that
inflate a thousandfold, stacked and false content codings, JSON nested past any recursion limit,
objects with a hundred thousand keys, bytes that are not UTF-8, Host headers with odd ports,
percent-escapes and NULs in targets. Each request is written on a raw socket, so that nothing in a
client library tidies it up first, and each must get an answer (a status line) within a bound:
a replayed recording, virt's 599 miss, or a 4xx that says what was wrong. A 5xx other than a
replayed one, a closed connection with no answer, or a health check that stops answering fails
the test. The import fuzz sends hostile files of every format, over the admin API and through the
command line, with a bound on time and on the memory of the importing process.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import re
import socket
import subprocess
import sys
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.formats.corpus import require_corpus
from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok

ANSWER_WITHIN = 20.0
"""Seconds a hostile request may take before the server counts as hung."""
HEALTH_WITHIN = 2.0
"""Seconds a health check may take right after a hostile request."""
RSS_LIMIT_MB = 900
"""Resident memory `virt serve` may reach over the whole fuzz (it starts near 100 MB; a single
unbounded gzip bomb alone would take it past 1 GB)."""
IMPORT_RSS_LIMIT_MB = 900


def _gzip_bomb(size: int) -> bytes:
    """`size` zero bytes, gzipped without holding them in memory: about size/1000 bytes."""
    z = zlib.compressobj(9, zlib.DEFLATED, 31)
    block = bytes(1 << 20)
    out = [z.compress(block) for _ in range(size >> 20)]
    out.append(z.flush())
    return b"".join(out)


BOMB = _gzip_bomb(1 << 30)  # 1 GiB of zeros in about 1 MB


def _deep_json(depth: int, opener: str = "[") -> bytes:
    closer = "]" if opener == "[" else "}"
    if opener == "{":
        return ('{"a":' * depth + "1" + closer * depth).encode()
    return (opener * depth + closer * depth).encode()


def _wide_json(keys: int) -> bytes:
    return json.dumps({f"k{i}": i for i in range(keys)}).encode()


@dataclass(frozen=True)
class Hostile:
    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def wire(self, absolute: str = "") -> bytes:
        head = [f"{self.method} {absolute}{self.target} HTTP/1.1"]
        names = {k.lower() for k, _ in self.headers}
        head += [f"{k}: {v}" for k, v in self.headers]
        if "content-length" not in names and "transfer-encoding" not in names:
            head.append(f"Content-Length: {len(self.body)}")
        head.append("Connection: close")
        return "\r\n".join(head).encode("latin-1") + b"\r\n\r\n" + self.body


# --- strategies -----------------------------------------------------------------------------

_TARGET_CHARS = st.sampled_from(
    [*"abcxyz019/-._~!$&'()*+,;=:@", "%00", "%3C", "%3c", "%2F", "%25", "%ZZ", "%", "\x7f"]
)
_HEADER_VALUE = st.text(
    st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), max_size=60
)
_CODINGS = st.sampled_from(
    ["gzip", "gzip, gzip", "deflate", "br", "zstd", "identity", "bogus", "gzip, br", "x-gzip", ""]
)
_CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=latin-1",
        "application/x-www-form-urlencoded",
        "multipart/form-data; boundary=xyz",
        "application/xml",
        "text/plain",
        "application/graphql",
        "application/octet-stream",
        "",
    ]
)


@st.composite
def _bodies(draw: st.DrawFn) -> tuple[bytes, tuple[tuple[str, str], ...]]:
    kind = draw(
        st.sampled_from(
            ["bytes", "deep", "deep-object", "wide", "latin1-form", "bad-utf8-json", "gzip", "bomb"]
        )
    )
    headers: list[tuple[str, str]] = []
    if kind == "bytes":
        body = draw(st.binary(max_size=4096))
    elif kind == "deep":
        body = _deep_json(draw(st.integers(1, 5000)))
    elif kind == "deep-object":
        body = _deep_json(draw(st.integers(1, 5000)), "{")
    elif kind == "wide":
        body = _wide_json(draw(st.integers(1, 100_000)))
    elif kind == "latin1-form":
        body = "name=J\xfcrgen&password=g\xe9heim&x=%FF%00".encode("latin-1")
        headers.append(("Content-Type", "application/x-www-form-urlencoded"))
    elif kind == "bad-utf8-json":
        body = b'{"user": "a\xff", "password": "hunter2hunter2"}'
        headers.append(("Content-Type", "application/json"))
    elif kind == "gzip":
        inner = draw(st.sampled_from([b'{"a": 1}', _deep_json(3000), b"\x00" * 4096]))
        body = gzip.compress(inner, mtime=0)
        if draw(st.booleans()):
            body = gzip.compress(body, mtime=0)
            headers.append(("Content-Encoding", "gzip, gzip"))
        else:
            headers.append(("Content-Encoding", "gzip"))
    else:
        body = BOMB
        headers.append(("Content-Encoding", draw(st.sampled_from(["gzip", "gzip, identity"]))))
    if not any(k == "Content-Encoding" for k, _ in headers) and draw(st.booleans()):
        headers.append(("Content-Encoding", draw(_CODINGS)))
    if not any(k == "Content-Type" for k, _ in headers):
        ctype = draw(_CONTENT_TYPES)
        if ctype:
            headers.append(("Content-Type", ctype))
    return body, tuple(headers)


@st.composite
def hostile_requests(draw: st.DrawFn) -> Hostile:
    method = draw(st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PURGE"]))
    path = "/" + "".join(draw(st.lists(_TARGET_CHARS, max_size=40)))
    if draw(st.booleans()):
        path += "?" + "".join(draw(st.lists(_TARGET_CHARS, max_size=40)))
    host = draw(
        st.sampled_from(
            [
                "127.0.0.1",
                "api.example.com",
                "127.0.0.1:\u00b2",
                "127.0.0.1:" + "9" * 5000,
                "127.0.0.1:-1",
                "[::1]:99999",
                "",
            ]
        )
    )
    body, body_headers = draw(_bodies()) if method not in ("GET", "OPTIONS") else (b"", ())
    extra = draw(
        st.lists(
            st.tuples(
                st.sampled_from(["X-Api-Key", "X-Virt-Session", "Cookie", "X-Foo"]), _HEADER_VALUE
            ),
            max_size=4,
        )
    )
    headers = (("Host", host.encode("utf-8").decode("latin-1")), *body_headers, *extra)
    return Hostile(method, path, tuple(headers), body)


# --- the server under attack ----------------------------------------------------------------


@dataclass
class Served:
    proc: VirtProcess
    port: int
    proxy_port: int

    def rss_mb(self) -> float:
        assert self.proc.proc is not None
        status = Path(f"/proc/{self.proc.proc.pid}/status").read_text()
        match = re.search(r"VmHWM:\s+(\d+) kB", status)
        assert match, status
        return int(match.group(1)) / 1024


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """`virt serve` with default flags over recordings brought in with `virt import`."""
    corpus = require_corpus()
    home = tmp_path_factory.mktemp("hostile")
    db = home / "api.db"
    imported = subprocess.run(
        [*VIRT, "import", "--db", str(db), str(corpus / "vcr" / "kevin1024__vcrpy")],
        env=clean_env(),
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert imported.returncode in (0, 1), imported.stderr
    assert db.exists(), imported.stderr
    port, proxy_port = free_port(), free_port()
    proc = VirtProcess(
        [
            "serve",
            "--db",
            str(db),
            "--port",
            str(port),
            "--proxy-port",
            str(proxy_port),
            "--confdir",
            str(home / "confdir"),
        ],
        clean_env(),
        home,
    ).start(lambda: health_ok(port), timeout=60)
    yield Served(proc, port, proxy_port)
    proc.stop()


def _exchange(port: int, wire: bytes) -> bytes:
    """Send `wire` on a fresh connection and read the whole answer (the server closes)."""
    deadline = time.monotonic() + ANSWER_WITHIN
    with socket.create_connection(("127.0.0.1", port), timeout=ANSWER_WITHIN) as sock:
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            # a server may answer 413 and close before it has read a large body
            sock.sendall(wire)
        chunks = []
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            chunks.append(chunk)
            if sum(map(len, chunks)) > 64 << 20:
                break
        else:
            raise AssertionError(f"no complete answer within {ANSWER_WITHIN}s")
    return b"".join(chunks)


def _check_answer(answer: bytes, request: Hostile, door: str) -> None:
    what = f"{door} door, {request.method} {request.target[:80]!r} headers={request.headers!r:.300}"
    assert answer, f"connection closed without an answer ({what})"
    status_line, _, rest = answer.partition(b"\r\n")
    match = re.match(rb"HTTP/1\.[01] (\d{3})", status_line)
    assert match, f"not an HTTP answer: {answer[:200]!r} ({what})"
    status = int(match.group(1))
    head = rest.partition(b"\r\n\r\n")[0].decode("latin-1").lower()
    replayed = re.search(r"^x-virt-match: (exact|fuzzy)", head, re.M) is not None
    assert status < 500 or status == 599 or replayed, (
        f"{status} for a hostile request ({what}):\n{answer[:1000]!r}"
    )


def _still_healthy(port: int) -> None:
    started = time.monotonic()
    response = httpx.get(f"http://127.0.0.1:{port}/__virt/health", timeout=HEALTH_WITHIN * 5)
    took = time.monotonic() - started
    assert response.status_code == 200
    assert took < HEALTH_WITHIN, f"health check took {took:.1f}s after a hostile request"


FUZZ = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)


@FUZZ
@given(request=hostile_requests())
@example(
    request=Hostile(
        "POST", "/anything", (("Host", "127.0.0.1"), ("Content-Encoding", "gzip")), BOMB
    )
)
@example(
    request=Hostile(
        "POST", "/x", (("Host", "127.0.0.1"), ("Content-Length", str(10**12))), b"short"
    )
)
@example(
    request=Hostile("GET", "/a", (("Host", "127.0.0.1:\u00b2".encode().decode("latin-1")),), b"")
)
@example(
    request=Hostile(
        "POST",
        "/deep",
        (("Host", "127.0.0.1"), ("Content-Type", "application/json")),
        _deep_json(900),
    )
)
def test_direct_door_answers_every_hostile_request(served: Served, request: Hostile) -> None:
    _check_answer(_exchange(served.port, request.wire()), request, "direct")
    _still_healthy(served.port)


@FUZZ
@given(request=hostile_requests())
@example(
    request=Hostile(
        "POST", "/anything", (("Host", "api.example.com"), ("Content-Encoding", "gzip")), BOMB
    )
)
def test_proxy_door_answers_every_hostile_request(served: Served, request: Hostile) -> None:
    host = dict(request.headers).get("Host") or "api.example.com"
    if not re.fullmatch(r"[A-Za-z0-9.\-]+(:\d{1,5})?", host):
        host = "api.example.com"  # an absolute-form target needs an authority mitmproxy parses
    _check_answer(
        _exchange(served.proxy_port, request.wire(absolute=f"http://{host}")), request, "proxy"
    )
    _still_healthy(served.port)


def test_memory_stays_bounded_through_the_fuzz(served: Served) -> None:
    """Runs after the door fuzzes (same module, same server): the peak resident set of the
    process, bombs and wide bodies included."""
    peak = served.rss_mb()
    assert peak < RSS_LIMIT_MB, f"virt serve peaked at {peak:.0f} MB"


# --- hostile files for virt import ----------------------------------------------------------

ALIAS_BOMB = (
    "a: &a [x, x, x, x, x, x, x, x, x]\n"
    + "".join(
        f"{n}: &{n} [{', '.join(['*' + p] * 9)}]\n"
        for p, n in zip("abcdefgh", "bcdefghi", strict=True)
    )
    + "interactions: *i\n"
)
"""Nine levels of nine aliases: 9^9 (387 million) nodes from a few hundred bytes."""


@st.composite
def hostile_files(draw: st.DrawFn) -> tuple[str, bytes]:
    suffix = draw(st.sampled_from([".yaml", ".yml", ".json", ".har", ".mitm", ".txt", ""]))
    kind = draw(st.sampled_from(["bytes", "bomb", "deep-json", "deep-yaml", "wide-har", "corpus"]))
    if kind == "bytes":
        data = draw(st.binary(max_size=2048))
    elif kind == "bomb":
        data = ALIAS_BOMB.encode()
    elif kind == "deep-json":
        data = _deep_json(draw(st.integers(100, 20000)), draw(st.sampled_from(["[", "{"])))
    elif kind == "deep-yaml":
        data = ("interactions:\n" + "- " * 1 + "[" * draw(st.integers(100, 20000))).encode()
    elif kind == "wide-har":
        count = draw(st.integers(1, 200_000))
        data = b'{"log": {"version": "1.2", "entries": [' + b",".join([b"{}"] * count) + b"]}}"
    else:
        sample = draw(st.sampled_from(_corpus_samples()))
        raw = sample.read_bytes()
        cut = draw(st.integers(0, len(raw)))
        data = raw[:cut] + draw(st.binary(max_size=16))
        suffix = sample.suffix
    name = draw(st.sampled_from(["upload", "....", "..", "cassette", "a b%00"])) + suffix
    return name, data


def _corpus_samples() -> list[Path]:
    root = require_corpus()
    picks = [
        "vcr/kevin1024__vcrpy/tests/integration/cassettes/gzip_requests.yaml",
        "har/haralyzer__haralyzer/tests/data/missing_page.har",
    ]
    return [root / p for p in picks if (root / p).is_file()] or [next(root.rglob("*.yaml"))]


@FUZZ
@given(file=hostile_files())
@example(file=("bomb.yaml", ALIAS_BOMB.encode()))
@example(file=("....", b"{}"))
def test_admin_import_answers_every_hostile_file(served: Served, file: tuple[str, bytes]) -> None:
    name, data = file
    started = time.monotonic()
    response = httpx.post(
        f"http://127.0.0.1:{served.port}/__virt/import",
        params={"filename": name},
        content=data,
        headers={"Content-Type": "application/octet-stream"},
        timeout=ANSWER_WITHIN,
    )
    took = time.monotonic() - started
    assert response.status_code < 500, f"{response.status_code} for {name!r}: {response.text[:500]}"
    assert took < ANSWER_WITHIN / 2, f"import of {name!r} took {took:.1f}s"
    if response.status_code == 200:
        report = response.json()
        # nothing silently dropped: imported, skipped or failed says what became of the file
        assert report["imported"] or report["skipped"] or report["failed"], report
        assert "/tmp" not in response.text, f"the report shows a temporary path: {response.text}"
    _still_healthy(served.port)


_PEAK_OF_CHILD = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "print('peak-rss-kb', peak, file=sys.stderr); "
    "sys.exit(code)"
)
"""Runs a command and prints its peak resident set: measured in a process of its own, so that
nothing else the test run started counts."""


def test_virt_import_reports_every_hostile_file_with_bounded_time_and_memory(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "hostile"
    folder.mkdir()
    files = {
        "bomb.yaml": ALIAS_BOMB.encode(),
        "bomb.har.yaml": ALIAS_BOMB.replace("interactions", "log").encode(),
        "deep.json": _deep_json(100_000),
        "deep.har": b'{"log": {"entries": ' + _deep_json(50_000) + b"}}",
        "wide.har": b'{"log": {"version": "1.2", "entries": ['
        + b",".join([b"{}"] * 1_000_000)
        + b"]}}",
        "binary.mitm": bytes(range(256)) * 64,
        "latin1.json": '{"interactions": ["J\xfcrgen"]}'.encode("latin-1"),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    db = tmp_path / "out.db"
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, *VIRT, "import", "--db", str(db), str(folder)],
        env=clean_env(),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    took = time.monotonic() - started
    peak_line = done.stderr.rstrip().rpartition("\n")[2]
    assert peak_line.startswith("peak-rss-kb "), done.stderr
    peak_mb = int(peak_line.split()[1]) / 1024
    assert done.returncode in (0, 1), done.stderr
    assert "Traceback" not in done.stderr
    assert "internal error" not in done.stderr
    for name in files:
        assert name in done.stdout + done.stderr, (
            f"{name} not reported:\n{done.stdout}{done.stderr}"
        )
    assert took < 120, f"virt import took {took:.0f}s"
    assert peak_mb < IMPORT_RSS_LIMIT_MB, f"virt import peaked at {peak_mb:.0f} MB"
