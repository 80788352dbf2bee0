"""The pattern stage: stubs imported with a URL pattern (WireMock's urlPattern, urlPathPattern,
urlPathTemplate; Hoverfly's glob and regex matchers) answer the requests their pattern covers,
in recorded order, and nothing else; regexes run in linear time."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from virt.match.engine import Engine, MatchKind
from virt.match.patterns import matches
from virt.match.rules import Rules
from virt.model import Pattern, PatternKind, Request, RequestPattern
from virt.store import Store
from virt.transfer import import_paths


def wiremock(tmp_path: Path, *mappings: dict[str, Any]) -> Path:
    path = tmp_path / "mappings" / "stubs.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"mappings": list(mappings)}))
    return path


def stub(body: str, method: str = "GET", **request: Any) -> dict[str, Any]:
    return {"request": {"method": method, **request}, "response": {"status": 200, "body": body}}


def get(path: str, query: str = "", host: str = "localhost", **kw: Any) -> Request:
    return Request("GET", "http", host, 80, path, query, **kw)


@pytest.fixture
def engine(tmp_path: Path) -> Engine:
    source = wiremock(
        tmp_path,
        stub("user", urlPathTemplate="/users/{id}"),
        stub("search", urlPathPattern="/search/[a-z]+", queryParameters={"v": {"equalTo": "2"}}),
        stub("page", urlPattern="/pages\\?n=[0-9]+"),
        stub("exact", url="/users/me"),
        stub("keyed", urlPathPattern="/keyed/.*", headers={"X-Key": {"equalTo": "k"}}),
    )
    store = Store.open(tmp_path / "p.db")
    report = import_paths(store, [source], format="wiremock")
    assert report.imported == 5
    return Engine(store)


@pytest.mark.parametrize(
    ("request_", "body"),
    [
        (get("/users/42"), b"user"),
        (get("/search/shoes", "v=2&sort=asc"), b"search"),
        (get("/pages", "n=3"), b"page"),
        (get("/keyed/a", headers=(("x-key", "k"),)), b"keyed"),
    ],
)
def test_a_request_a_stub_pattern_covers_is_answered_by_it(
    engine: Engine, request_: Request, body: bytes
) -> None:
    match = engine.match(request_)
    assert match.kind is MatchKind.PATTERN
    assert match.header_value == "pattern"
    assert match.interaction is not None and match.interaction.response.body == body


@pytest.mark.parametrize(
    "request_",
    [
        get("/users/42/posts"),  # a template's {id} is one segment
        get("/search/shoes", "v=3"),  # the recorded query parameter must be sent
        get("/search/Shoes1", "v=2"),  # the whole path must match the regex
        get("/pages", "n=three"),
        get("/keyed/a"),  # the stub's header matcher still holds
        Request("POST", "http", "localhost", 80, "/users/42"),  # another method
    ],
)
def test_a_request_no_pattern_covers_is_a_miss(engine: Engine, request_: Request) -> None:
    assert engine.match(request_).kind is MatchKind.MISS


def test_the_exact_stage_comes_first(engine: Engine) -> None:
    match = engine.match(get("/users/me"))
    assert match.kind is MatchKind.EXACT
    assert match.interaction is not None and match.interaction.response.body == b"exact"


def test_a_stub_recorded_several_times_replays_its_sequence(tmp_path: Path) -> None:
    source = wiremock(
        tmp_path,
        {**stub("pending", urlPathTemplate="/jobs/{id}"), "insertionIndex": 1},
        {**stub("done", urlPathTemplate="/jobs/{id}"), "insertionIndex": 2},
    )
    store = Store.open(tmp_path / "s.db")
    import_paths(store, [source], format="wiremock")
    engine = Engine(store)
    answers = [engine.match(get("/jobs/7")).interaction for _ in range(3)]
    assert [a.response.body for a in answers if a] == [b"pending", b"done", b"done"]


def test_hoverfly_globs_and_regexes_match_the_host_and_path(tmp_path: Path) -> None:
    sim = {
        "data": {
            "pairs": [
                {
                    "request": {
                        "method": [{"matcher": "exact", "value": "GET"}],
                        "destination": [{"matcher": "glob", "value": "*.hoverfly.io"}],
                        "path": [{"matcher": "regex", "value": "^/api/v[0-9]+/"}],
                    },
                    "response": {"status": 200, "body": "api"},
                }
            ]
        },
        "meta": {"schemaVersion": "v5"},
    }
    path = tmp_path / "sim.json"
    path.write_text(json.dumps(sim))
    store = Store.open(tmp_path / "h.db")
    import_paths(store, [path], format="hoverfly")
    engine = Engine(store)
    hit = engine.match(Request("GET", "https", "docs.hoverfly.io", 443, "/api/v2/things"))
    assert hit.kind is MatchKind.PATTERN
    assert engine.match(Request("GET", "https", "hoverfly.io.evil", 443, "/api/v2/")).kind == (
        MatchKind.MISS
    )
    assert engine.match(Request("GET", "https", "a.hoverfly.io", 443, "/v2/api/")).kind == (
        MatchKind.MISS
    )


def test_a_backtracking_regex_runs_in_linear_time() -> None:
    """^(a+)+$ against 30 a's and a b takes minutes with a backtracking engine."""
    pattern = RequestPattern(path=Pattern(PatternKind.REGEX, "/(a+)+$"))
    recorded = get("/x")
    assert not matches(pattern, recorded, get("/" + "a" * 30 + "b"))
    assert matches(pattern, recorded, get("/" + "a" * 30))


def test_a_pattern_that_cannot_run_safely_never_matches(caplog: pytest.LogCaptureFixture) -> None:
    for value in ("/(a)\\1", "/(unclosed"):  # a backreference; not a regular expression
        pattern = RequestPattern(path=Pattern(PatternKind.REGEX, value))
        assert not matches(pattern, get("/x"), get("/aa"))
    assert caplog.text.count("pattern never matches") == 2
    assert "no backreferences" in caplog.text


def test_the_pattern_is_stored_in_its_own_column(tmp_path: Path) -> None:
    source = wiremock(tmp_path, stub("user", urlPathTemplate="/users/{id}"))
    store = Store.open(tmp_path / "c.db")
    import_paths(store, [source], format="wiremock")
    store.close()
    with sqlite3.connect(tmp_path / "c.db") as db:
        (stored,) = db.execute("SELECT request_pattern FROM interactions").fetchone()
    assert json.loads(stored) == {"path": {"kind": "template", "value": "/users/{id}"}}


def test_route_rules_hold_for_stub_patterns_as_for_every_stage(engine: Engine) -> None:
    """A rule's hard conditions (here: a required header) rule a stub out as they would rule
    out a recording found by its key: a pattern is no way around a rule."""
    engine.set_rules(
        Rules.from_dict({"route": [{"path": "/users/*", "require": ["header:x-tenant"]}]}, "t")
    )
    assert engine.match(get("/users/42")).kind is MatchKind.MISS
    tenant = get("/users/42", headers=(("x-tenant", "a"),))
    assert engine.match(tenant).kind is MatchKind.MISS  # the stub carries no x-tenant
