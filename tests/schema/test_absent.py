"""When the recordings show that an id was never there: the fallback answers the route's own 404
only on that evidence, and a made-up object everywhere else."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from virt.match.engine import Engine, Match, MatchKind
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.schema.fallback import Fallback
from virt.store import Store

HOST = "api.example.com"
NOT_FOUND = {"errorCode": "E0000007", "errorSummary": "Not found: Resource not found"}


def not_found(id: str) -> dict[str, Any]:
    """The API's 404, naming the id asked for, as Okta's does."""
    return {"errorCode": "E0000007", "errorSummary": f"Not found: Resource not found: {id} (Token)"}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def ask(method: str, path: str) -> Request:
    return Request(method, "https", HOST, 443, path)


def record(store: Store, request: Request, status: int, body: Any) -> None:
    headers = (("Content-Type", "application/json"),)
    response = Response(status, headers=headers, body=orjson.dumps(body))
    store.insert(Interaction(request, response), keys(request))


def token(id: str) -> dict[str, Any]:
    return {"id": id, "name": f"token {id[-4:]}", "_links": {"self": f"/api/tokens/{id}"}}


LISTED = ("00T1f3w86v9h8o1VZ1d7", "00T1fgddrrL0btPWo1d7")


@pytest.fixture
def tokens(store: Store) -> Store:
    """A collection that lists two tokens; a GET of each answers it; two GETs and two DELETEs
    of ids it never listed answer the API's 404."""
    record(store, ask("GET", "/api/tokens"), 200, [token(id) for id in LISTED])
    for id in LISTED:
        record(store, ask("GET", f"/api/tokens/{id}"), 200, token(id))
    for id in ("00Tinvalid1234567890", "00Tzzzzzzzzzzzzzzzzz"):
        record(store, ask("GET", f"/api/tokens/{id}"), 404, not_found(id))
    for id in ("00Tinvalid9999999999", "00Tinvalid7777777777"):
        record(store, ask("DELETE", f"/api/tokens/{id}"), 404, NOT_FOUND)
    return store


def answer(store: Store, request: Request) -> Match:
    match = Engine(store, fallback=Fallback).match(request)
    assert match.kind is MatchKind.FALLBACK, match.explain()
    return match


def status(match: Match) -> int:
    assert match.interaction is not None
    return match.interaction.response.status


def test_an_id_the_collection_never_named_gets_the_routes_recorded_404(tokens: Store) -> None:
    match = answer(tokens, ask("GET", "/api/tokens/99Xaaaaaaaaaaaaaaaaa"))
    assert status(match) == 404
    assert match.interaction is not None
    # the API's own 404, naming the id asked for where the recorded one named its own
    assert orjson.loads(match.interaction.response.body) == not_found("99Xaaaaaaaaaaaaaaaaa")
    explained = match.explain()["fallback"]
    assert explained["status"] == 404
    assert len(explained["absent"]["evidence"]) == 2


def test_a_delete_route_that_only_ever_answered_404_for_unnamed_ids_answers_404(
    tokens: Store,
) -> None:
    assert status(answer(tokens, ask("DELETE", "/api/tokens/00Tinvalid8888888888"))) == 404


def test_an_id_the_collection_named_is_answered_as_an_object(store: Store) -> None:
    record(
        store,
        ask("GET", "/api/tokens"),
        200,
        [token(id) for id in (*LISTED, "00TlistedNotFetched1")],
    )
    for id in LISTED:
        record(store, ask("GET", f"/api/tokens/{id}"), 200, token(id))
    record(store, ask("GET", "/api/tokens/00Tinvalid1234567890"), 404, NOT_FOUND)
    match = answer(store, ask("GET", "/api/tokens/00TlistedNotFetched1"))
    assert status(match) == 200


def test_without_a_recorded_404_an_unnamed_id_is_answered_as_an_object(store: Store) -> None:
    record(store, ask("GET", "/api/tokens"), 200, [token(id) for id in LISTED])
    for id in LISTED:
        record(store, ask("GET", f"/api/tokens/{id}"), 200, token(id))
    assert status(answer(store, ask("GET", "/api/tokens/99Xaaaaaaaaaaaaaaaaa"))) == 200


def test_a_route_that_answered_ids_from_nowhere_answers_any_id_as_an_object(store: Store) -> None:
    # a customer nobody listed was answered: any id may be one, the 404 was for something else
    record(store, ask("GET", "/api/tokens"), 200, [token(LISTED[0])])
    record(store, ask("GET", f"/api/tokens/{LISTED[0]}"), 200, token(LISTED[0]))
    record(
        store, ask("GET", "/api/tokens/00TnotListedButThere"), 200, token("00TnotListedButThere")
    )
    record(store, ask("GET", "/api/tokens/00Tinvalid1234567890"), 404, NOT_FOUND)
    assert status(answer(store, ask("GET", "/api/tokens/99Xaaaaaaaaaaaaaaaaa"))) == 200


def test_a_404_for_an_id_the_collection_had_named_is_no_evidence(store: Store) -> None:
    # the 404 came after the object was deleted: it says nothing about ids never handed out
    record(store, ask("GET", "/api/tokens"), 200, [token(id) for id in LISTED])
    record(store, ask("GET", f"/api/tokens/{LISTED[0]}"), 200, token(LISTED[0]))
    record(store, ask("GET", f"/api/tokens/{LISTED[1]}"), 404, NOT_FOUND)
    assert status(answer(store, ask("GET", "/api/tokens/99Xaaaaaaaaaaaaaaaaa"))) == 200


def test_without_a_recorded_collection_no_id_is_judged_absent(store: Store) -> None:
    for id in LISTED:
        record(store, ask("GET", f"/api/tokens/{id}"), 200, token(id))
    record(store, ask("GET", "/api/tokens/00Tinvalid1234567890"), 404, NOT_FOUND)
    assert status(answer(store, ask("GET", "/api/tokens/99Xaaaaaaaaaaaaaaaaa"))) == 200


def test_an_id_whose_very_path_answered_success_is_not_absent(tokens: Store) -> None:
    # DELETE was only ever recorded for ids nobody listed, but this one was fetched: it exists,
    # and with no recorded successful DELETE the route cannot answer it at all
    record(
        tokens, ask("GET", "/api/tokens/00TfetchedNotListed1"), 200, token("00TfetchedNotListed1")
    )
    match = Engine(tokens, fallback=Fallback).match(
        ask("DELETE", "/api/tokens/00TfetchedNotListed1")
    )
    assert match.kind is MatchKind.MISS
