"""Idempotency keys at the replay layer: the first answer again for a repeat, the recorded
conflict answer for the same key with another body, per session."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from virt.match.engine import MatchKind
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.replay.idempotency import Idempotency
from virt.replay.reply import Reply
from virt.state import MemoryState
from virt.store import Store


def _charge(body: bytes, key: str, name: str = "Idempotency-Key") -> Request:
    headers = ((name, key),)
    return Request("POST", "https", "api.example.com", 443, "/v1/charges", "", headers, body)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    yield s
    s.close()


def test_a_repeat_gets_the_first_answer_marked_as_a_repeat(store: Store) -> None:
    keys = Idempotency(MemoryState(), store)
    sent = _charge(b"amount=5", "k1")
    first = Reply(200, "OK", (("X-Virt-Match", "exact"),), b'{"id": "ch_1"}')
    assert keys.repeat(sent, "s", "k1") is None
    keys.keep(sent, "s", "k1", first, MatchKind.EXACT, 7)
    found = keys.repeat(sent, "s", "k1")
    assert found is not None
    reply, kind, recording, explain = found
    assert (reply.status, reply.body, kind, recording) == (200, first.body, MatchKind.EXACT, 7)
    assert dict(reply.headers)["X-Virt-Match"] == "exact;repeat"
    assert explain["repeat"]["header"] == "idempotency-key"
    assert keys.repeat(sent, "other session", "k1") is None


def test_the_same_key_with_another_body_gets_the_routes_recorded_conflict(store: Store) -> None:
    recorded = Interaction(
        request=_charge(b"amount=1", "old"),
        response=Response(409, "Conflict", (("Content-Type", "application/json"),), b'{"e":1}'),
    )
    store.insert(recorded, exact_key(recorded.request))
    keys = Idempotency(MemoryState(), store)
    first = Reply(200, "OK", (), b"{}")
    keys.keep(_charge(b"amount=5", "k1"), "s", "k1", first, MatchKind.EXACT, 1)
    found = keys.repeat(_charge(b"amount=6", "k1"), "s", "k1")
    assert found is not None
    reply, _, _, explain = found
    assert (reply.status, reply.body) == (409, b'{"e":1}')
    assert "first sent with another body" in explain["repeat"]["conflict"]


def test_configured_header_names_are_read_and_safe_methods_carry_no_key(store: Store) -> None:
    keys = Idempotency(MemoryState(), store, ["Stripe-Idem"])
    assert keys.key(_charge(b"", "k9", "Stripe-Idem")) == "k9"
    get = Request(
        "GET", "https", "api.example.com", 443, "/v1/charges", "", (("Idempotency-Key", "k"),)
    )
    assert keys.key(get) is None
