"""Leave-one-out over the shared corpus: hide one recorded JSON answer per route, ask virt for it.

For each format, the corpus folder goes into a fresh database through the real `virt import`,
and its interactions are grouped by route (method, scheme, host, port and the route template of
virt.normalize.route). In each route with at least three answers that are JSON (a JSON content
type and a body that parses), the middle one of those is hidden, and the hidden request is sent
to a running `virt serve` through its direct door, with the recorded Host, headers and body.
A case is good when the answer has the hidden status, a body valid against the schema inferred
from the route's other answers of that status, and the hidden body's top-level keys. The share
of good cases per format is printed at the end of the run. Every such route is a case. Issue
#16 aims at 90%; this corpus gives 104 of 118 today, so the test holds the figure reached,
GOOD_SHARE, and fails on any fall below it. What remains wrong has no honest answer from the
recordings (docs/fallback.md says more):
- the API's answer changed shape over time: a field it added after the hidden answer (3), a
  `json` wrapper its latest answer to the same request has and the hidden one lacks (1);
- an error the API gave for what a request meant, not for its shape (both `assignee` and
  `assignees`, an unknown user, a failed GraphQL mutation: 4, one of them answered by the
  scored stage);
- a field the answer holds because of what the request asked, which no other recording asked
  the same way (`repositories` for `repository_ids`; a `refresh_token` for the one
  `authorization_code` grant): 2;
- a body without a field every other recorded body sent, refused as the issue asks (1);
- a GET after a recorded DELETE of its path, which only the client's session could tell from
  one before it (1); an id nothing recorded listed, on a route that answered both 200 and 404
  (1); a DELETE on a route that never succeeded, a miss (1).
When no other answer of the route has the hidden status (the API's one 422, say), there is no
shape to expect, and the status alone decides.

"Valid" is against the shape of that schema (`structural`: types, properties, required, items,
nullability), not the value ranges it learned: over this corpus the hidden recorded answer
itself breaks the learned ranges in about half the cases (a new id past the largest seen, a
longer title), so they would judge the API wrong, not the fallback.

A request recorded twice (in canonical form: query and JSON members in any order) is still
recorded with one copy hidden: the matching stages, not the fallback, answer it with whatever
the other copy said. The hidden answer is therefore the middle one of those whose request is
recorded once; routes with none such are counted apart.

The hidden interactions are deleted through the admin API of the running server (DELETE
/__virt/interactions/{id}), as a user takes a recording away, rather than from the file before
serving: that also proves the fallback follows a deletion without a restart. So that a stale
cache cannot pass for a good answer, the journal must then name no hidden interaction as the
one that answered or as the template of a fallback.

A miss on a route with opaque answers among its JSON ones (non-empty, not JSON: HTML, text,
binary, a diff or an event stream) is right, and not counted: such a route gets no fallback.
A route whose recorded answers are all opaque gets the same treatment, uncounted: its hidden
request may match a sibling or miss, but never gets a fallback, since a template of bytes is a
wrong answer in disguise.
"""

from __future__ import annotations

import http.client
import json
import sqlite3
import subprocess
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.formats.corpus import FOLDERS, require_corpus
from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok, report_figure
from virt import encoding
from virt.model import Headers, header
from virt.normalize.route import template
from virt.schema.infer import infer, structural
from virt.schema.validate import is_valid, violations

GOOD_SHARE = 0.88
"""The share reached (104 of 118 when written), rounded down: a floor against regressions, not
the 90% the issue aims at."""

NOT_JSON = object()
"""The parsed body of an answer that is not JSON."""

NOT_SENT = frozenset(
    {
        "host",
        "content-length",
        "transfer-encoding",
        "connection",
        "keep-alive",
        "upgrade",
        "expect",
        "te",
        "trailer",
        "proxy-connection",
        # bodies are stored decoded, and sent as stored
        "content-encoding",
        # each case sends its own, so that no case sees what another created
        "x-virt-session",
    }
)


@dataclass(frozen=True, slots=True)
class Recorded:
    """One imported interaction, as the leave-one-out needs it."""

    id: int
    method: str
    scheme: str
    host: str
    port: int
    path: str
    query: str
    request_headers: Headers
    request_body: bytes
    status: int
    content_type: str
    response_body: bytes
    value: Any
    """The response body parsed as JSON, or NOT_JSON."""
    canonical_key: str
    """virt's key of the request in canonical form (query and JSON members in any order)."""

    @property
    def target(self) -> str:
        return self.path + (f"?{self.query}" if self.query else "")

    @property
    def where(self) -> str:
        return f"#{self.id} {self.method} {self.scheme}://{self.host}:{self.port}{self.target}"

    @property
    def opaque(self) -> bool:
        """A non-empty answer that is not JSON in type nor in content (AWS's
        application/x-amz-json-1.1 is JSON in content)."""
        if not self.response_body or _json_type(self):
            return False
        try:
            json.loads(self.response_body)
        except (ValueError, UnicodeDecodeError):
            return True
        return False


@dataclass(frozen=True, slots=True)
class Case:
    hidden: Recorded
    others: list[Recorded]
    """The route's other interactions, in recorded order."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    body: bytes
    match: str
    """X-Virt-Match, e.g. "exact", "fuzzy;score=0.93", "fallback;source=template", "miss"."""


def _json_type(r: Recorded) -> bool:
    return r.content_type == "application/json" or r.content_type.endswith("+json")


def _parsed(content_type: str, body: bytes) -> Any:
    if not (content_type == "application/json" or content_type.endswith("+json")):
        return NOT_JSON
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return NOT_JSON


def imported(corpus: Path, fmt: str, db: Path) -> list[Recorded]:
    """The interactions of the corpus folder `fmt`, imported into `db` by `virt import`."""
    done = subprocess.run(
        [*VIRT, "import", "--db", str(db), "--json", str(corpus / fmt)],
        env=clean_env(),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("{"), f"virt import {fmt} reported nothing:\n{done.stderr}"
    # malformed files fail (exit 1) and the rest is imported: test_corpus.py checks which
    assert json.loads(done.stdout)["imported"] > 0, done.stderr
    return read(db)


def read(db: Path) -> list[Recorded]:
    with sqlite3.connect(db) as conn:
        rows = conn.execute(
            "SELECT id, method, scheme, host, port, path, query, request_headers, request_body, "
            "status, response_headers, response_body, canonical_key FROM interactions ORDER BY id"
        ).fetchall()
    found = []
    for (
        iid,
        method,
        scheme,
        host,
        port,
        path,
        query,
        req_h,
        req_b,
        status,
        resp_h,
        resp_b,
        key,
    ) in rows:
        response_headers = tuple((n, v) for n, v in json.loads(resp_h))
        content_type = (header(response_headers, "content-type") or "").split(";")[0]
        content_type = content_type.strip().lower()
        body = bytes(resp_b)
        found.append(
            Recorded(
                iid,
                method,
                scheme,
                host,
                port,
                path,
                query,
                tuple((n, v) for n, v in json.loads(req_h)),
                bytes(req_b),
                status,
                content_type,
                body,
                _parsed(content_type, body),
                key,
            )
        )
    return found


def routes(recorded: Iterable[Recorded]) -> dict[tuple[str, str, str, int, str], list[Recorded]]:
    """The interactions by route: method, scheme, host, port and route template, in order."""
    groups: dict[tuple[str, str, str, int, str], list[Recorded]] = defaultdict(list)
    for r in recorded:
        groups[(r.method, r.scheme, r.host.lower(), r.port, template(r.path))].append(r)
    return groups


def _hidden(group: list[Recorded], candidates: list[Recorded]) -> Case | None:
    """The middle one of `candidates` whose request is recorded only once in `group`, hidden."""
    seen: dict[str, int] = defaultdict(int)
    for r in group:
        seen[r.canonical_key] += 1
    once = [r for r in candidates if seen[r.canonical_key] == 1]
    if not once:
        return None
    hidden = once[len(once) // 2]
    return Case(hidden, [r for r in group if r is not hidden])


def json_cases(groups: dict[Any, list[Recorded]]) -> tuple[list[Case], int]:
    """Per route with at least three JSON answers, the middle one of those whose request is
    recorded once hidden; and how many such routes had none (every request repeated)."""
    cases, repeated = [], 0
    for key in sorted(groups):
        group = groups[key]
        answers = [r for r in group if r.value is not NOT_JSON]
        if len(answers) >= 3:
            case = _hidden(group, answers)
            if case is None:
                repeated += 1
            else:
                cases.append(case)
    return cases, repeated


def opaque_cases(groups: dict[Any, list[Recorded]]) -> list[Case]:
    """Per route with at least three answers, all opaque, one hidden as json_cases does."""
    cases = []
    for key in sorted(groups):
        group = groups[key]
        if len(group) >= 3 and all(r.opaque for r in group):
            case = _hidden(group, group)
            if case is not None:
                cases.append(case)
    return cases


def _sendable(headers: Headers) -> list[tuple[str, str]]:
    """The recorded request headers a client can send again: no hop-by-hop ones, no HTTP/2
    pseudo-headers, none that http.client would refuse."""
    kept = []
    for name, value in headers:
        if name.lower() in NOT_SENT or name.startswith(":"):
            continue
        if any(c in value for c in "\r\n\0"):
            continue
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            continue
        kept.append((name, value))
    return kept


def ask(port: int, r: Recorded, session: str) -> Answer:
    """Sends the recorded request to virt's direct door with its Host, headers and body."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.putrequest(r.method, r.target, skip_host=True, skip_accept_encoding=True)
        conn.putheader(
            "Host", f"{r.host}:{r.port}" if ":" not in r.host else f"[{r.host}]:{r.port}"
        )
        for name, value in _sendable(r.request_headers):
            conn.putheader(name, value)
        conn.putheader("X-Virt-Session", session)
        conn.putheader("Content-Length", str(len(r.request_body)))
        conn.endheaders(r.request_body)
        resp = conn.getresponse()
        raw, headers = resp.read(), tuple(resp.getheaders())
    finally:
        conn.close()
    body, _ = encoding.decode_body(raw, header(headers, "content-encoding"))
    return Answer(resp.status, body, header(headers, "x-virt-match") or "")


def _shape(value: Any) -> object:
    """What "the same top-level keys" compares: an object's keys, else the JSON type."""
    if isinstance(value, dict):
        return sorted(value)
    return type(value).__name__


def why_wrong(case: Case, answer: Answer) -> tuple[str, str] | None:
    """Why `answer` is not a good answer to the hidden request of `case`, as (what, detail):
    "status", "body" (not JSON), "schema" or "keys"; None when it is good."""
    hidden = case.hidden
    if answer.status != hidden.status:
        return "status", f"status {answer.status} ({answer.match}), hidden {hidden.status}"
    try:
        got = json.loads(answer.body)
    except (ValueError, UnicodeDecodeError):
        return "body", f"a body that is not JSON ({answer.match}): {answer.body[:80]!r}"
    same_status = [
        r.value for r in case.others if r.value is not NOT_JSON and r.status == hidden.status
    ]
    if not same_status:
        # the hidden answer was the route's only one of its status (a 422 for a body without
        # a required field, say): virt cannot know the API's shape of it, only the status
        return None
    schema = structural(infer(same_status))
    if not is_valid(schema, got):
        found = [f"{v.pointer or '/'} {v.rule}" for v in violations(schema, got, limit=3)]
        return "schema", f"invalid against the others' schema ({answer.match}): {found}"
    if _shape(got) != _shape(hidden.value):
        return "keys", f"top level {_shape(got)} ({answer.match}), hidden {_shape(hidden.value)}"
    return None


def _answered_by(port: int) -> set[int]:
    """Every interaction the journal names as an answer or as a fallback's template."""
    entries = httpx.get(f"http://127.0.0.1:{port}/__virt/journal?limit=1000").json()["entries"]
    named = set()
    for e in entries:
        if e.get("interaction_id") is not None:
            named.add(e["interaction_id"])
        fallback = (e.get("explain") or {}).get("fallback") or {}
        if fallback.get("template") is not None:
            named.add(fallback["template"])
    return named


@dataclass
class Tally:
    """Cases and good ones; answers by X-Virt-Match kind; wrong ones by what was wrong."""

    cases: int = 0
    good: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    wrong: dict[str, int] = field(default_factory=dict)

    def add(self, kind: str, why: str | None) -> None:
        self.cases += 1
        self.kinds[kind] = self.kinds.get(kind, 0) + 1
        if why is None:
            self.good += 1
        else:
            self.wrong[why] = self.wrong.get(why, 0) + 1

    def merge(self, other: Tally) -> None:
        self.cases += other.cases
        self.good += other.good
        for mine, theirs in ((self.kinds, other.kinds), (self.wrong, other.wrong)):
            for k, n in theirs.items():
                mine[k] = mine.get(k, 0) + n

    def line(self, name: str) -> str:
        share = f"{100 * self.good / self.cases:5.1f}%" if self.cases else "    -"
        kinds = ", ".join(f"{k} {n}" for k, n in sorted(self.kinds.items()))
        wrong = ", ".join(f"{k} {n}" for k, n in sorted(self.wrong.items()))
        return (
            f"{name:16} cases {self.cases:>3}  good {self.good:>3} ({share})"
            + (f"  answers: {kinds}" if kinds else "")
            + (f"  wrong: {wrong}" if wrong else "")
        )


def test_hidden_json_answers_come_back_from_the_fallback_with_their_status_and_shape(
    tmp_path: Path, confdir: Path
) -> None:
    corpus = require_corpus()
    total = Tally()
    wrong: list[str] = []
    leaked: list[str] = []
    opaque_fallbacks: list[str] = []
    lines = []
    for fmt in FOLDERS:
        db = tmp_path / f"{fmt}.db"
        groups = routes(imported(corpus, fmt, db))
        (cases, repeated), opaque = json_cases(groups), opaque_cases(groups)
        tally, mixed = Tally(), 0
        if cases or opaque:
            port = free_port()
            args = ["serve", "--db", str(db), "--port", str(port), "--no-proxy"]
            proc = VirtProcess([*args, "--confdir", str(confdir)], clean_env(), tmp_path).start(
                lambda port=port: health_ok(port)
            )
            try:
                hidden = {c.hidden.id for c in [*cases, *opaque]}
                for iid in sorted(hidden):
                    url = f"http://127.0.0.1:{port}/__virt/interactions/{iid}"
                    assert httpx.delete(url).status_code == 200, url
                for n, case in enumerate(cases):
                    answer = ask(port, case.hidden, f"{fmt}-{n}")
                    if answer.status == 599 and any(r.opaque for r in case.others):
                        mixed += 1  # a route with opaque answers too: its misses are right
                        continue
                    why = why_wrong(case, answer)
                    tally.add(answer.match.split(";")[0] or "none", why and why[0])
                    if why is not None:
                        wrong.append(f"{fmt} {case.hidden.where}: {why[1]}")
                for n, case in enumerate(opaque):
                    answer = ask(port, case.hidden, f"{fmt}-opaque-{n}")
                    if answer.match.startswith("fallback"):
                        opaque_fallbacks.append(f"{fmt} {case.hidden.where}: {answer.match}")
                leaked += [f"{fmt} #{iid}" for iid in sorted(_answered_by(port) & hidden)]
            finally:
                proc.stop()
        total.merge(tally)
        notes = [f"{repeated} routes of repeated requests only"] if repeated else []
        notes += [f"{mixed} misses on routes with opaque answers too"] if mixed else []
        notes += [f"{len(opaque)} opaque routes"] if opaque else []
        lines.append("; ".join([tally.line(fmt), *notes]))
    lines.append(total.line("all"))
    for line in lines:
        report_figure("leave-one-out: a hidden JSON answer asked of virt serve", line)
    assert not leaked, f"deleted interactions still answered or served as templates: {leaked}"
    assert not opaque_fallbacks, f"opaque routes got a fallback: {opaque_fallbacks}"
    assert total.cases > 0
    assert total.good >= GOOD_SHARE * total.cases, (
        f"{total.good} of {total.cases} good, fewer than {GOOD_SHARE:.0%}:\n" + "\n".join(wrong)
    )
