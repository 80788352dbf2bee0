"""Drift over the shared corpus: each imported request, sent again the way a client sends it on a
later run, still gets the interaction it came from.

Per format: the corpus files are imported with transfer.import_paths (what `virt import` runs)
into a real database, and a real `virt serve` replays it. Each recorded request is sent again in
recorded order with its JSON body re-serialised (keys shuffled at every depth, other
whitespace), and with new Date, User-Agent, Authorization credential (the scheme word kept),
X-Amz-Date and request-id values. At least 95% per format must be answered with the interaction
they came from (X-Virt-Recording names it), or with a twin: another recording of the same
request with the same status and body. The figure per format is printed at the end of the run.

All requests of a format go in one X-Virt-Session, in recorded order. A request recorded several
times, in one file or in several, walks its recordings in id order over the whole database, so
a session per file would hand a later file the first file's recording of a shared request.
"""

from __future__ import annotations

import base64
import collections
import http.client
import json
import random
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import pytest

from tests.formats.corpus import FOLDERS, require_corpus
from tests.helpers import VirtProcess, clean_env, free_port, health_ok, report_figure, shuffled
from virt.model import Interaction, Request, Response
from virt.store import Filter, Store
from virt.transfer import import_paths, stored

FORMATS = FOLDERS
AT_LEAST = 0.95
SECTION = "corpus drift: JSON keys shuffled, dates, agents, credentials and request ids changed"

NOT_RESENT = frozenset(
    {
        # framing: http.client and uvicorn set these for the bytes actually sent
        "host",
        "content-length",
        "transfer-encoding",
        "content-encoding",
        "connection",
        "keep-alive",
        "proxy-connection",
        "expect",
        "te",
        "trailer",
        "upgrade",
    }
)
"""Recorded request headers not sent again; the body is sent decoded, so no Content-Encoding."""

REQUEST_ID = re.compile(r"request-?id|trace-?id|correlation-?id|invocation-?id", re.IGNORECASE)
"""Header names that carry a per-call identifier (X-GitHub-Request-Id, amz-sdk-invocation-id)."""

TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]+$")
AMZ_DATE_PARAM = re.compile(r"(^|&)(x-amz-date=)[^&]*", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Drifted:
    """A recorded request as it is sent again: target, headers and body, drifted."""

    target: str
    headers: list[tuple[str, str]]
    body: bytes


def drift(interaction: Interaction) -> Drifted:
    """The request of `interaction`, drifted; the same drift for the same interaction id."""
    request = interaction.request
    rng = random.Random(interaction.id)
    when = datetime(2031, 1, 1, tzinfo=UTC) + timedelta(seconds=rng.randrange(10**8))
    amz_date = when.strftime("%Y%m%dT%H%M%SZ")
    added = {  # set when present, added when absent
        "date": format_datetime(when, usegmt=True),
        "user-agent": f"drifting-client/{rng.randrange(100)}.{rng.randrange(100)} (corpus)",
        "x-request-id": _uuid(rng),
        "x-amzn-trace-id": f"Root=1-{int(when.timestamp()):08x}-{rng.getrandbits(96):024x}",
        "traceparent": f"00-{rng.getrandbits(128):032x}-{rng.getrandbits(64):016x}-01",
    }
    headers: list[tuple[str, str]] = []
    for name, value in request.headers:
        lname = name.lower()
        if lname in NOT_RESENT or not TOKEN.match(name) or "\r" in value or "\n" in value:
            continue  # framing, HTTP/2 pseudo-headers, or not sendable over HTTP/1.1
        if lname in added:
            value = added.pop(lname)
        elif lname == "x-amz-date":
            value = amz_date
        elif lname == "authorization":
            value = _credential(value, rng)
        elif REQUEST_ID.search(lname):
            value = _uuid(rng)
        headers.append((name, value))
    headers.extend((name.title(), value) for name, value in added.items())
    # a presigned URL carries its date in the query
    query = AMZ_DATE_PARAM.sub(lambda m: m[1] + m[2] + amz_date, request.query)
    target = request.path + (f"?{query}" if query else "")
    return Drifted(target, headers, _shuffled_json(request.body, rng))


def _uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _credential(value: str, rng: random.Random) -> str:
    """`value` with its scheme word kept and the credential after it replaced."""
    scheme, sep, _ = value.partition(" ")
    if not sep:
        return f"drift{rng.getrandbits(80):020x}"
    lscheme = scheme.lower()
    if lscheme == "basic":
        credential = base64.b64encode(f"drift:{rng.getrandbits(64):016x}".encode()).decode()
    elif lscheme.startswith("aws4-"):
        credential = (
            f"Credential=AKIA{rng.getrandbits(64):016X}/20310101/us-east-1/s3/aws4_request, "
            f"SignedHeaders=host;x-amz-date, Signature={rng.getrandbits(256):064x}"
        )
    else:
        credential = f"drift{rng.getrandbits(160):040x}"
    return f"{scheme} {credential}"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _shuffled_json(body: bytes, rng: random.Random) -> bytes:
    """A JSON object or array re-serialised with keys shuffled at every depth and other
    whitespace; any other body unchanged."""
    try:
        value = json.loads(body, parse_constant=_reject_constant)
    except ValueError:
        return body
    if not isinstance(value, dict | list):
        return body
    spacing: dict[str, Any] = rng.choice(
        [{"indent": 1}, {"indent": "\t"}, {"separators": (" , ", " : ")}, {"indent": 3}]
    )
    return json.dumps(shuffled(value, rng), ensure_ascii=rng.random() < 0.5, **spacing).encode()


def same_request(a: Request, b: Request) -> bool:
    """Whether `a` and `b` are the same request in meaning: method, origin, path, query as a
    multiset, and body as bytes or, when both are JSON, as data."""
    if _where(a) != _where(b):
        return False
    if a.body == b.body:
        return True
    try:
        return bool(json.loads(a.body) == json.loads(b.body))
    except ValueError:
        return False


def _where(r: Request) -> tuple[object, ...]:
    query = sorted(parse_qsl(r.query, keep_blank_values=True))
    return (r.method.upper(), r.scheme, r.host.lower(), r.port, r.path, query)


def send(
    port: int, method: str, host: str, target: str, headers: list[tuple[str, str]], body: bytes
) -> tuple[int, dict[str, str], bytes]:
    """One request to the direct door on a connection of its own (a kept-alive one waits for
    delayed ACKs between requests); returns status, headers by lower-case name, body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", host)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def is_twin(answered: Interaction, interaction: Interaction) -> bool:
    """Whether `answered` is another recording of the same request with the same response
    (status and body): the corpus recorded that request several times alike."""
    return (
        same_request(answered.request, interaction.request)
        and answered.response.status == interaction.response.status
        and answered.response.body == interaction.response.body
    )


def _host_header(request: Request) -> str:
    host = f"[{request.host}]" if ":" in request.host else request.host
    return f"{host}:{request.port}"


def _missed(interaction: Interaction, headers: dict[str, str], raw: bytes) -> str:
    """What went wrong for `interaction`, in one line: the miss report's reason and nearest
    recording's differing fields, or which recording answered instead."""
    request = interaction.request
    line = f"#{interaction.id} {request.method} {request.url}"
    if headers.get("x-virt-match") != "miss":
        got = headers.get("x-virt-recording")
        return f"{line}: answered by #{got} ({headers.get('x-virt-match')})"
    try:
        report = json.loads(raw)
    except ValueError:
        return f"{line}: miss, report not JSON: {raw[:120]!r}"
    nearest = report.get("nearest") or []
    differs = (
        f"; nearest #{nearest[0].get('id')} differs in {json.dumps(nearest[0].get('diff'))[:300]}"
        if nearest
        else "; no recording near it"
    )
    return f"{line}: miss ({report.get('why')}){differs}"


@pytest.mark.parametrize("fmt", FORMATS)
def test_drifted_corpus_requests_get_the_interaction_they_came_from(
    fmt: str, tmp_path: Path, confdir: Path
) -> None:
    corpus = require_corpus()
    db = tmp_path / f"{fmt}.db"
    store = Store.open(db)
    try:
        report = import_paths(store, [corpus / fmt])
        recorded = list(stored(store, Filter()))
    finally:
        store.close()
    assert report.imported == len(recorded) > 0
    by_id = {i.id: i for i in recorded}

    port = free_port()
    proc = VirtProcess(
        ["serve", "--db", str(db), "--port", str(port), "--no-proxy", "--confdir", str(confdir)],
        clean_env(),
        tmp_path,
    ).start(lambda: health_ok(port))
    # one session for the format, in recorded order: a request recorded several times (in one
    # file or across files) walks its recordings in id order, so each send reaches its own
    misses: list[str] = []
    answers: collections.Counter[str] = collections.Counter()
    try:
        for interaction in recorded:
            request = interaction.request
            drifted = drift(interaction)
            answers["shuffled"] += drifted.body != request.body
            _, headers, raw = send(
                port,
                request.method,
                _host_header(request),
                drifted.target,
                [*drifted.headers, ("X-Virt-Session", f"drift-{fmt}")],
                drifted.body,
            )
            got = headers.get("x-virt-recording", "")
            answered = by_id.get(int(got)) if got.isdigit() else None
            if answered is not None and answered.id == interaction.id:
                answers[headers.get("x-virt-match", "").partition(";")[0]] += 1
            elif answered is not None and is_twin(answered, interaction):
                answers["twin"] += 1
            else:
                misses.append(_missed(interaction, headers, raw))
    finally:
        proc.stop()
    matched = len(recorded) - len(misses)
    share = matched / len(recorded)
    report_figure(
        SECTION,
        f"{fmt + ':':16} {matched:>4}/{len(recorded):<4} matched under drift "
        f"({100 * share:5.1f}%)  exact {answers['exact']:>4}, fuzzy {answers['fuzzy']:>3}, "
        f"by a twin {answers['twin']:>2}; JSON bodies shuffled {answers['shuffled']:>3}",
    )
    assert share >= AT_LEAST, (
        f"{fmt}: {matched}/{len(recorded)} matched under drift ({100 * share:.1f}%), "
        f"below {100 * AT_LEAST:.0f}%; {len(misses)} missed, first ones:\n" + "\n".join(misses[:8])
    )


def test_drift_changes_volatile_parts_and_keeps_the_meaning() -> None:
    body = b'{"a":1,"b":{"c":[{"d":2,"e":3}],"f":"\xc3\xa9"},"g":null,"h":true,"i":0.5}'
    request = Request(
        "POST",
        "https",
        "dynamodb.us-east-1.amazonaws.com",
        443,
        "/",
        "X-Amz-Date=20200101T000000Z&x=1",
        (
            ("Content-Type", "application/json"),
            ("Authorization", "Bearer abc.def"),
            ("X-Amz-Date", "20200101T000000Z"),
            ("amz-sdk-invocation-id", "f00"),
            ("Content-Length", str(len(body))),
        ),
        body,
    )
    interaction = Interaction(request, Response(200), id=7)
    drifted = drift(interaction)
    assert drifted == drift(interaction)
    sent = {k.lower(): v for k, v in drifted.headers}
    assert sent["content-type"] == "application/json"
    assert sent["authorization"].startswith("Bearer ") and sent["authorization"] != "Bearer abc.def"
    assert sent["x-amz-date"] != "20200101T000000Z"
    assert sent["amz-sdk-invocation-id"] != "f00"
    assert {"date", "user-agent", "x-request-id", "x-amzn-trace-id", "traceparent"} <= set(sent)
    assert "content-length" not in sent
    assert drifted.target.startswith("/?X-Amz-Date=2") and drifted.target.endswith("&x=1")
    assert "20200101T000000Z" not in drifted.target
    assert drifted.body != body and json.loads(drifted.body) == json.loads(body)
    assert [list(json.loads(drift(interaction.with_id(n)).body)) for n in range(8)] != [
        list(json.loads(body))
    ] * 8  # key order changes from one interaction to the next
    assert drift(Interaction(replace(request, body=b"a=1&b=2"), Response(200), id=7)).body == (
        b"a=1&b=2"
    )
