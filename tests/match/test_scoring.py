"""Scored matching: candidate groups by route template, weighted field scores, thresholds,
learned volatility, echoed values and ties, against a real Store."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import orjson
import pytest

from virt.match.engine import Engine, Match, MatchKind
from virt.match.prepared import prepare
from virt.match.rules import Rules
from virt.model import Headers, Interaction, Request, Response
from virt.normalize import keys
from virt.normalize.fields import MAX_BODY_FIELDS, OPAQUE_BODY, fields
from virt.store import Store

JSON = (("Content-Type", "application/json"),)
API = ("https", "api.example.com", 443)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def req(method: str, target: str, body: object = None, headers: Headers = ()) -> Request:
    path, _, query = target.partition("?")
    data = b"" if body is None else orjson.dumps(body)
    return Request(method, *API, path, query, (*(JSON if data else ()), *headers), data)


def record(store: Store, request: Request, body: object, headers: Headers = ()) -> int:
    response = Response(200, headers=(*JSON, *headers), body=orjson.dumps(body))
    written = store.insert(Interaction(request, response), keys(request))
    assert written.id is not None
    return written.id


def answer(match: Match) -> object:
    assert match.interaction is not None, match
    return orjson.loads(match.interaction.response.body)


def test_a_changed_generated_value_still_matches_with_a_score_below_one(store: Store) -> None:
    ref = str(uuid.UUID(int=1))
    record(store, req("POST", "/v1/payments", {"amount": 10, "client_ref": ref}), {"ok": 1})
    sent = req("POST", "/v1/payments", {"amount": 10, "client_ref": str(uuid.uuid4())})
    match = Engine(store).match(sent)
    assert match.kind is MatchKind.FUZZY
    assert 0.85 <= match.score < 1
    assert match.header_value == f"fuzzy;score={match.score:.2f}"
    assert match.comparison is not None
    assert set(match.comparison.differs) == {"body:$.client_ref"}


def test_a_different_resource_id_is_a_miss_that_says_how_close_it_came(store: Store) -> None:
    record(store, req("GET", "/users/1"), {"name": "ada"})
    match = Engine(store).match(req("GET", "/users/2"))
    assert match.kind is MatchKind.MISS
    assert match.comparison is not None
    assert match.comparison.differs["path[2]"] == ("2", "1")
    assert match.comparison.score < 0.85


def test_a_different_meaningful_value_is_a_miss(store: Store) -> None:
    record(store, req("POST", "/v1/quotes", {"plan": "gold", "seats": 5}), {"price": 50})
    assert Engine(store).match(req("POST", "/v1/quotes", {"plan": "basic"})).kind is (
        MatchKind.MISS
    )


def test_candidates_come_from_the_route_template_group_only(store: Store) -> None:
    record(store, req("GET", "/orders/1234abcd9f/items?ts=1700000000"), {"items": []})
    record(store, req("GET", "/orders/1234abcd9f/refunds?ts=1700000000"), {"refunds": []})
    record(store, req("POST", "/orders/1234abcd9f/items?ts=1700000000"), {"created": True})
    match = Engine(store).match(req("GET", "/orders/1234abcd9f/items?ts=1800000000"))
    assert match.kind is MatchKind.FUZZY
    assert answer(match) == {"items": []}
    assert match.comparison is not None and set(match.comparison.groups) == {"path", "query"}
    other = Engine(store).match(req("GET", "/orders/1234abcd9f/items?page=2"))
    assert other.kind is MatchKind.MISS  # another page is another answer


def test_nonces_learned_as_volatile_walk_the_recorded_sequence(store: Store) -> None:
    for state in ("pending", "pending", "done"):
        record(store, req("GET", f"/jobs/7?nonce={uuid.uuid4()}"), {"state": state})
    engine = Engine(store)
    new = req("GET", f"/jobs/7?nonce={uuid.uuid4()}")
    seen = []
    for _ in range(4):
        match = engine.match(new, session="a")
        assert match.kind is MatchKind.FUZZY and match.score == 1.0, match.comparison
        seen.append(answer(match))
    assert seen == [{"state": s} for s in ("pending", "pending", "done", "done")]
    assert answer(engine.match(new, session="b")) == {"state": "pending"}
    assert engine.volatile_fields(new) == ["query:nonce"]


def test_values_that_change_meaning_are_not_learned_as_volatile(store: Store) -> None:
    record(store, req("GET", "/search?page=1"), {"page": 1})
    record(store, req("GET", "/search?page=2"), {"page": 2})
    engine = Engine(store)
    assert engine.volatile_fields(req("GET", "/search")) == []
    assert engine.match(req("GET", "/search?page=3")).kind is MatchKind.MISS


def _binary(store: Store, body: bytes, answer: bytes) -> Request:
    """A POST of `body` answered with the bytes `answer`, as git's upload-pack is."""
    ctype = (("Content-Type", "application/x-git-upload-pack-request"),)
    request = Request("POST", *API, "/repo.git/git-upload-pack", "", ctype, body)
    response = Response(200, headers=(("Content-Type", "application/x-git-result"),), body=answer)
    store.insert(Interaction(request, response), keys(request))
    return request


@pytest.mark.parametrize(
    "answers", [(b"refs", b"PACK..."), (b"PACK", b"PACK")], ids=["differ", "same"]
)
def test_a_body_compared_whole_is_never_learned_as_volatile(
    store: Store, answers: tuple[bytes, bytes]
) -> None:
    """Two recorded git POSTs made `body` volatile, so any body scored 1.00 and got the
    recorded pack: a shallow clone, a fetch of a new commit, `this is not git at all` (#16)."""
    sent = _binary(store, b"0014command=ls-refs\n0000", answers[0])
    _binary(store, b"0011command=fetch0032want 9614ea3\n0000", answers[1])
    engine = Engine(store)
    assert engine.volatile_fields(sent) == []
    stranger = Request("POST", *API, sent.path, "", sent.headers, b"this is not git at all")
    match = engine.match(stranger)
    assert match.kind is MatchKind.MISS, match
    assert match.comparison is not None and "body" in match.comparison.differs


def test_a_generated_value_whose_answers_differ_is_not_learned_as_volatile(
    store: Store,
) -> None:
    """Two digests asked for, two different answers: the digest chose the answer."""
    for sha, text in (("9614ea384dc20d21", "first blob"), ("0b7e5f2a11c93d44", "second blob")):
        request = req("GET", f"/blobs?sha={sha}")
        response = Response(200, headers=(("Content-Type", "text/plain"),), body=text.encode())
        store.insert(Interaction(request, response), keys(request))
    engine = Engine(store)
    new = req("GET", "/blobs?sha=77aa55cc33ee11ff")
    assert engine.volatile_fields(new) == []
    match = engine.match(new)
    assert match.score < 1, match  # never presented as the same request
    assert match.comparison is not None and "query:sha" in match.comparison.differs


def test_a_generated_value_its_answers_repeat_is_not_learned_as_volatile(
    store: Store,
) -> None:
    """Answers of one shape, each naming the digest it was asked for: the digest chose it."""
    for sha, message in (("9614ea384dc20d21", "first"), ("0b7e5f2a11c93d44", "second")):
        record(store, req("GET", f"/commits?sha={sha}"), {"sha": sha, "message": message})
    engine = Engine(store)
    new = req("GET", "/commits?sha=77aa55cc33ee11ff")
    assert engine.volatile_fields(new) == []
    assert engine.match(new).score < 1


def test_a_body_is_never_learned_whole(store: Store) -> None:
    for _ in range(3):
        record(store, req("POST", "/v1/ping", {"nonce": str(uuid.uuid4())}), {"ok": True})
    engine = Engine(store)
    new = req("POST", "/v1/ping", {"nonce": str(uuid.uuid4())})
    assert engine.volatile_fields(new) == []
    match = engine.match(new)
    assert match.kind is MatchKind.FUZZY and match.score < 1, match


def test_a_score_below_one_is_never_shown_as_one(store: Store) -> None:
    """One generated value among 2,000 fields scores 0.99995: the header says 0.99, not 1.00."""
    wide = {f"k{i}": i for i in range(MAX_BODY_FIELDS - 1)}
    record(store, req("POST", "/v1/wide", {**wide, "ref": str(uuid.UUID(int=1))}), {"ok": 1})
    match = Engine(store).match(req("POST", "/v1/wide", {**wide, "ref": str(uuid.uuid4())}))
    assert match.kind is MatchKind.FUZZY and 0.999 < match.score < 1, match
    assert match.header_value == "fuzzy;score=0.99"
    assert match.explain()["score"] == 0.9999
    assert match.explain()["comparison"]["groups"]["body"] == 0.9999


def test_ties_go_to_recording_order(store: Store) -> None:
    first = record(store, req("POST", "/v1/notes", {"text": "a", "n": 1}), {"id": "first"})
    record(store, req("POST", "/v1/notes", {"text": "a", "n": 2}), {"id": "second"})
    sent = req("POST", "/v1/notes", {"text": "a", "n": 3})
    loose = Rules.from_dict({"match": {"threshold": 0.5}})
    engine = Engine(store, loose)
    for _ in range(3):
        match = engine.match(sent)
        assert match.interaction is not None and match.interaction.id == first


def test_an_idempotency_key_and_a_client_reference_are_echoed(store: Store) -> None:
    old_key, old_ref = "idem-" + "1" * 16, str(uuid.UUID(int=7))
    recorded = req(
        "POST", "/v1/charges", {"amount": 5, "ref": old_ref}, (("Idempotency-Key", old_key),)
    )
    record(
        store,
        recorded,
        {"id": "ch_1", "idempotency_key": old_key, "ref": old_ref, "amount": 5},
        (("Idempotency-Key", old_key),),
    )
    new_key, new_ref = "idem-" + "2" * 16, str(uuid.uuid4())
    sent = req(
        "POST", "/v1/charges", {"ref": new_ref, "amount": 5}, (("Idempotency-Key", new_key),)
    )
    match = Engine(store).match(sent)
    assert match.kind is MatchKind.FUZZY
    assert answer(match) == {"id": "ch_1", "idempotency_key": new_key, "ref": new_ref, "amount": 5}
    assert match.interaction is not None
    assert ("Idempotency-Key", new_key) in match.interaction.response.headers
    assert set(match.echoed) == {"body:$.ref", "header:idempotency-key"}


def test_short_values_and_numbers_are_never_echoed(store: Store) -> None:
    record(store, req("POST", "/v1/add", {"a": 1, "tag": "x"}), {"a": 1, "total": 1, "tag": "x"})
    loose = Rules.from_dict({"match": {"threshold": 0.5}})
    match = Engine(store, loose).match(req("POST", "/v1/add", {"a": 1, "tag": "y"}, ()))
    assert match.kind is MatchKind.FUZZY
    assert answer(match) == {"a": 1, "total": 1, "tag": "y"}  # whole JSON strings are safe
    assert match.echoed == ("body:$.tag",)


def test_client_environment_headers_are_never_echoed(store: Store) -> None:
    """A new SDK version or platform is no value of the exchange: a recorded "0" or "MacOS" in
    the answer stays as recorded, whatever the client's telemetry says."""
    recorded = (("X-Stainless-Retry-Count", "0"), ("X-Stainless-OS", "MacOS"))
    record(
        store,
        req("POST", "/v1/messages", {"q": "a"}, recorded),
        {"index": "0", "platform": "MacOS"},
        (("X-Should-Retry", "0"),),
    )
    sent = (("X-Stainless-Retry-Count", "1"), ("X-Stainless-OS", "Linux"))
    match = Engine(store).match(req("POST", "/v1/messages", {"q": "a"}, sent))
    assert match.kind is MatchKind.EXACT
    assert answer(match) == {"index": "0", "platform": "MacOS"}
    assert match.interaction is not None
    assert ("X-Should-Retry", "0") in match.interaction.response.headers
    assert match.echoed == ()


def test_route_rules_set_threshold_weights_and_ignored_fields(store: Store) -> None:
    record(store, req("POST", "/v1/search", {"q": "shoes", "sent_at": "monday"}), {"hits": 3})
    sent = req("POST", "/v1/search", {"q": "shoes", "sent_at": "tuesday"})
    assert Engine(store).match(sent).kind is MatchKind.MISS  # half the body differs
    loose = Rules.from_dict({"route": [{"path": "/v1/search", "threshold": 0.5}]})
    assert Engine(store, loose).match(sent).kind is MatchKind.FUZZY
    heavy_headers = Rules.from_dict({"route": [{"path": "/v1/*", "weights": {"headers": 10}}]})
    assert Engine(store, heavy_headers).match(sent).kind is MatchKind.FUZZY
    ignoring = Rules.from_dict(
        {"route": [{"path": "/v1/search", "threshold": 0.95, "ignore": ["json:$.sent_at"]}]}
    )
    match = Engine(store, ignoring).match(sent)
    assert (match.kind, match.score, match.rule) == (MatchKind.FUZZY, 1.0, "route[0]")


def test_required_fields_and_matchers_rule_candidates_out_even_on_exact_hits(store: Store) -> None:
    acme = req("GET", "/v1/me", headers=(("X-Tenant", "acme-1"),))
    record(store, acme, {"tenant": "acme"})
    other = req("GET", "/v1/me", headers=(("X-Tenant", "globex"),))
    assert Engine(store).match(other).kind is MatchKind.EXACT  # headers are not in the key
    required = Rules.from_dict({"route": [{"path": "/v1/me", "require": ["header:X-Tenant"]}]})
    assert Engine(store, required).match(other).kind is MatchKind.MISS
    assert Engine(store, required).match(acme).kind is MatchKind.EXACT
    regex = Rules.from_dict(
        {"route": [{"path": "/v1/me", "match": [{"field": "header:x-tenant", "regex": "^acme-"}]}]}
    )
    assert Engine(store, regex).match(other).kind is MatchKind.MISS
    acme9 = req("GET", "/v1/me", headers=(("X-Tenant", "acme-9"),))
    assert Engine(store, regex).match(acme9).kind is MatchKind.EXACT


def test_jsonpath_equality_and_partial_bodies(store: Store) -> None:
    body = {"user": {"id": 42, "name": "ada"}, "items": [1, 2]}
    record(store, req("POST", "/v1/carts", body), {"cart": "c1"})
    rules = Rules.from_dict(
        {
            "route": [
                {
                    "path": "/v1/carts",
                    "body": "partial",
                    "match": [{"field": "json:$.user.id", "equals": 42}],
                }
            ]
        }
    )
    engine = Engine(store, rules)
    extra = {**body, "coupon": "SPRING", "client": {"v": 3}}
    match = engine.match(req("POST", "/v1/carts", extra))
    assert (match.kind, answer(match)) == (MatchKind.FUZZY, {"cart": "c1"})
    other_user = {**extra, "user": {"id": 7, "name": "ada"}}
    assert engine.match(req("POST", "/v1/carts", other_user)).kind is MatchKind.MISS
    fewer = {"user": body["user"]}
    assert engine.match(req("POST", "/v1/carts", fewer)).kind is MatchKind.MISS


def test_the_highest_priority_route_rule_applies(store: Store) -> None:
    record(store, req("POST", "/v1/a/b", {"k": "v", "t": "1"}), {"r": 1})
    rules = Rules.from_dict(
        {
            "route": [
                {"name": "loose", "path": "/v1/**", "threshold": 0.1},
                {"name": "tight", "path": "/v1/a/{x}", "threshold": 1.0, "priority": 5},
            ]
        }
    )
    match = Engine(store, rules).match(req("POST", "/v1/a/b", {"k": "v", "t": "2"}))
    assert (match.kind, match.rule) == (MatchKind.MISS, "tight")


def test_operation_headers_tell_apart_requests_with_the_same_url_and_body(store: Store) -> None:
    body = {"TableName": "orders"}
    describe = req("POST", "/", body, (("X-Amz-Target", "DynamoDB_20120810.DescribeTable"),))
    scan = req("POST", "/", body, (("X-Amz-Target", "DynamoDB_20120810.Scan"),))
    record(store, describe, {"Table": {"TableName": "orders"}})
    record(store, scan, {"Items": [], "Count": 0})
    engine = Engine(store)
    assert answer(engine.match(scan)) == {"Items": [], "Count": 0}  # recorded second, asked first
    assert answer(engine.match(describe)) == {"Table": {"TableName": "orders"}}
    drifted = req(
        "POST", "/", {"TableName": "orders"}, (("X-Amz-Target", "DynamoDB_20120810.Scan"),)
    )
    assert answer(engine.match(drifted, session="other")) == {"Items": [], "Count": 0}
    delete = req("POST", "/", body, (("X-Amz-Target", "DynamoDB_20120810.DeleteTable"),))
    match = engine.match(delete)
    assert match.kind is MatchKind.MISS
    assert match.comparison is not None
    assert match.comparison.failed == "header:x-amz-target: another operation"


def test_a_request_is_scored_against_its_own_path_first_however_large_its_group(
    store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    from virt.match import engine as engine_module

    monkeypatch.setattr(engine_module, "MAX_CANDIDATES", 4)
    for n in range(10):  # one route group, /items/{id}, recorded before the one asked for
        record(store, req("GET", f"/items/{n}?ts=1700000000"), {"item": n})
    record(store, req("GET", "/items/77?ts=1700000000"), {"item": 77})
    match = Engine(store).match(req("GET", "/items/77?ts=1800000000"))
    assert (match.kind, answer(match)) == (MatchKind.FUZZY, {"item": 77})


def test_a_comparison_keeps_the_first_fifty_differing_fields_and_counts_the_rest(
    store: Store,
) -> None:
    long = "x" * 5000
    recorded = {f"k{i:04d}": f"old{i}" for i in range(1500)} | {"long": long}
    record(store, req("POST", "/v1/wide", recorded), {"ok": 1})
    sent = {f"k{i:04d}": f"new{i}" for i in range(1500)} | {"long": long + "y"}
    match = Engine(store).match(req("POST", "/v1/wide", sent))
    assert match.kind is MatchKind.MISS
    assert match.comparison is not None
    assert len(match.comparison.differs) == 50
    assert match.comparison.differing == 1501
    shown = match.comparison.as_dict()
    assert (shown["truncated"], shown["differs_total"], len(shown["differs"])) == (True, 1501, 50)
    explained = match.explain()["comparison"]
    assert explained["differs_total"] == 1501
    assert len(orjson.dumps(match.explain())) < 20_000


def test_a_long_differing_value_is_shown_cut_with_its_length(store: Store) -> None:
    record(store, req("POST", "/v1/notes", {"text": "a" * 1000}), {"ok": 1})
    match = Engine(store).match(req("POST", "/v1/notes", {"text": "b" * 1000}))
    assert match.comparison is not None
    sent, recorded = match.comparison.differs["body:$.text"]
    assert sent == '"' + "b" * 79 + "... (1,002 characters)"
    assert recorded == '"' + "a" * 79 + "... (1,002 characters)"
    assert "truncated" not in match.comparison.as_dict()  # one field differs: nothing left out


def _raw(body: bytes, ctype: str = "application/octet-stream") -> Request:
    return Request("POST", *API, "/v1/blobs", "", (("Content-Type", ctype),), body)


@pytest.mark.parametrize(
    ("recorded", "sent", "ctype"),
    [
        (b"\x00\x01 recorded bytes", b"\x00\x02 other bytes", "application/octet-stream"),
        (b"<a><b>1</b></a>", b"<a><b>2</b></a>", "application/xml"),
        (b"[" * 900 + b"1" + b"]" * 900, b"[" * 900 + b"2" + b"]" * 900, "application/json"),
    ],
    ids=["bytes", "xml", "json-nested-past-the-cap"],
)
def test_a_different_opaque_body_is_a_miss_not_drift(
    store: Store, recorded: bytes, sent: bytes, ctype: str
) -> None:
    """Two digests of different bodies look like two generated values (both hex); crediting
    them as drift answered another body with fuzzy;score=0.92 (#13)."""
    record(store, _raw(recorded, ctype), {"stored": 1})
    match = Engine(store).match(_raw(sent, ctype))
    assert match.kind is MatchKind.MISS, match
    assert match.comparison is not None
    assert match.comparison.groups["body"] == 0.0
    assert Engine(store).match(_raw(recorded, ctype)).kind is MatchKind.EXACT


def test_a_json_body_with_more_leaves_than_the_cap_is_compared_as_one_digest(
    store: Store,
) -> None:
    wide = {f"k{i}": i for i in range(MAX_BODY_FIELDS + 1)}
    assert set(fields(req("POST", "/v1/bulk", wide))) >= {OPAQUE_BODY}
    assert not any(name.startswith("body:") for name in fields(req("POST", "/v1/bulk", wide)))
    narrow = {f"k{i}": i for i in range(MAX_BODY_FIELDS)}
    assert f"body:$.k{MAX_BODY_FIELDS - 1}" in fields(req("POST", "/v1/bulk", narrow))
    record(store, req("POST", "/v1/bulk", wide), {"ok": 1})
    # key order is drift: the canonical stage still finds it
    reordered = dict(reversed(list(wide.items())))
    assert Engine(store).match(req("POST", "/v1/bulk", reordered)).kind is MatchKind.FUZZY
    changed = {**wide, "k0": -1}
    assert Engine(store).match(req("POST", "/v1/bulk", changed)).kind is MatchKind.MISS


@pytest.mark.parametrize(
    "sent",
    [
        req("GET", "/v1/items/7?page=2"),
        req("POST", "/v1/payments", {"amount": 10, "client_ref": str(uuid.UUID(int=9))}),
        req("POST", "/v1/payments", {"client_ref": str(uuid.UUID(int=1)), "amount": 10}),
        req("POST", "/v1/payments", {"amount": 11}),
    ],
    ids=["exact", "scored", "canonical", "miss"],
)
def test_a_prepared_request_matches_as_the_request_itself(store: Store, sent: Request) -> None:
    """The doors prepare a large request on a worker thread; the answer must not change."""
    record(store, req("GET", "/v1/items/7?page=2"), {"id": 7})
    ref = str(uuid.UUID(int=1))
    record(store, req("POST", "/v1/payments", {"amount": 10, "client_ref": ref}), {"ok": 1})
    plain, prepared = Engine(store), Engine(store)
    one, other = plain.match(sent, "s"), prepared.match(sent, "s", prepare(sent))
    assert (one.kind, one.score, one.interaction) == (other.kind, other.score, other.interaction)
    assert one.explain() == other.explain()
    assert plain.nearest(sent) == prepared.nearest(sent, prepared=prepare(sent))


def test_a_miss_names_the_three_nearest_recordings_of_its_route_in_the_journal(
    store: Store,
) -> None:
    ids = [
        record(store, req("POST", "/v1/orders", {"sku": f"a{n}", "qty": n}), {}) for n in range(5)
    ]
    match = Engine(store).match(req("POST", "/v1/orders", {"sku": "zz", "qty": 99, "gift": True}))
    assert match.kind is MatchKind.MISS
    nearest = match.explain()["nearest"]
    assert len(nearest) == 3 and set(nearest) <= set(ids)
    assert nearest == list(match.nearest[:3])
