"""--shift-time: timestamps in replayed responses move by the time since recording, in place."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import orjson

from virt.match.engine import Engine
from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.replay.clock import shift
from virt.replay.reply import Reply
from virt.replay.respond import Replayer
from virt.store import Store

RECORDED = "2026-01-01T00:00:00.000Z"
T0 = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0


def recorded(body: bytes, headers: tuple[tuple[str, str], ...] = ()) -> Interaction:
    return Interaction(
        Request("GET", "https", "h", 443, "/"),
        Response(200, headers=(("Content-Type", "application/json"), *headers), body=body),
        recorded_at=RECORDED,
    )


def test_http_date_headers_move_by_the_time_since_recording() -> None:
    i = recorded(
        b"{}",
        (
            ("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),
            ("Expires", "Thu, 01 Jan 2026 00:05:00 GMT"),
            ("Last-Modified", "Wed, 31 Dec 2025 12:00:00 GMT"),
            ("Cache-Control", "max-age=300"),
        ),
    )
    out, moved = shift(i, T0 + DAY)
    headers = dict(out.response.headers)
    assert headers["Date"] == "Fri, 02 Jan 2026 00:00:00 GMT"
    assert headers["Expires"] == "Fri, 02 Jan 2026 00:05:00 GMT"
    assert headers["Last-Modified"] == "Thu, 01 Jan 2026 12:00:00 GMT"
    assert headers["Cache-Control"] == "max-age=300"
    assert moved == ["header:date", "header:expires", "header:last-modified"]


def test_json_date_times_and_epoch_times_move_and_the_rest_of_the_bytes_stay() -> None:
    body = (
        b'{\n  "id": 1700000000,\n  "expires_at": "2026-01-01T00:05:00Z",\n'
        b'  "created": "2025-12-31 23:59:59.5+01:00",\n  "exp": 1767225900,\n'
        b'  "createdAtMs": 1767225600000,\n  "note": "2026-01-01",\n  "count": 1767225600\n}'
    )
    out, moved = shift(recorded(body), T0 + DAY)
    data = orjson.loads(out.response.body)
    assert data["expires_at"] == "2026-01-02T00:05:00Z"
    assert data["created"] == "2026-01-01 23:59:59.5+01:00"
    assert data["exp"] == 1767225900 + 86_400
    assert data["createdAtMs"] == 1767225600000 + 86_400_000
    assert data["id"] == 1700000000  # an id, not a time, by its name
    assert data["count"] == 1767225600
    assert data["note"] == "2026-01-01"  # a date without a time is not moved
    assert out.response.body.startswith(b'{\n  "id": 1700000000,\n  "expires_at": "2026-01-02')
    assert sorted(moved) == [
        "body:$.created",
        "body:$.createdAtMs",
        "body:$.exp",
        "body:$.expires_at",
    ]


def test_nothing_to_move_returns_the_interaction_itself() -> None:
    i = recorded(b'{"a": "b"}', (("Expires", "0"),))
    assert shift(i, T0 + DAY) == (i, [])
    no_time = Interaction(i.request, i.response, recorded_at="")
    assert shift(no_time, T0 + DAY) == (no_time, [])


def test_the_journal_shows_what_was_shifted_and_shifting_is_off_by_default(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "t.db")
    i = recorded(
        b'{"expires_at": "2026-01-01T00:05:00Z"}', (("Date", "Thu, 01 Jan 2026 00:00:00 GMT"),)
    )
    store.insert(i, keys(i.request))
    engine = Engine(store)

    async def both() -> tuple[Reply, Reply]:
        plain = await Replayer(engine).respond(i.request)
        shifted = await Replayer(engine, shift=shift).respond(i.request)
        return plain, shifted

    plain, shifted = asyncio.run(both())
    assert plain.body == i.response.body
    assert orjson.loads(shifted.body)["expires_at"] != "2026-01-01T00:05:00Z"
    newest, older = engine.journal.entries(limit=2)
    assert newest.explain is not None
    assert newest.explain["shifted"] == ["header:date", "body:$.expires_at"]
    assert older.explain is None
    store.close()
