"""Answering when the shared session state is away: the affected requests get the miss response
naming the state and what failed, and the door serves again as soon as it is back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.state.redisserver import RedisServer
from virt.admin.api import create_admin
from virt.match.engine import Engine
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.replay.app import ReplayApp
from virt.replay.routing import Router
from virt.state import open_state
from virt.store import Store

JOB = Request("GET", "https", "api.example.com", 443, "/jobs/7")


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "rec.db")
    for body in (b"pending", b"done"):
        s.insert(Interaction(JOB, Response(200, body=body)), exact_key(JOB))
    yield s
    s.close()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisServer]:
    running = RedisServer(tmp_path, password="s3cret-pw").start()
    yield running
    running.kill()


def test_redis_away_answers_the_miss_naming_it_and_serving_resumes_when_back(
    store: Store, server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    engine = Engine(store, state=open_state(server.url))
    app = ReplayApp(engine, Router([], engine.origins), create_admin(engine, host="virt.test"))

    async def poll(client: httpx.AsyncClient) -> httpx.Response:
        return await client.get("/jobs/7", headers={"X-Virt-Session": "ci-1"})

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://virt.test") as client:
            first = await poll(client)
            server.kill()
            away = await poll(client)
            server.start()
            back = await poll(client)
            return [first, away, back]

    with caplog.at_level(logging.ERROR, logger="virt"):
        first, away, back = asyncio.run(main())
    assert (first.status_code, first.content) == (200, b"pending")
    assert away.status_code == 599 and away.headers["x-virt-match"] == "miss"
    why = orjson.loads(away.content)["why"]
    assert why.startswith(f"session state at redis://:***@127.0.0.1:{server.port}/0: ")
    assert "cannot advance a sequence" in why and "s3cret-pw" not in away.text
    assert (back.status_code, back.content) == (200, b"pending")  # Redis came back empty
    said = [r for r in caplog.records if "session state at" in r.getMessage()]
    assert said and all(r.exc_info is None for r in said)  # one line each, no traceback
    assert "s3cret-pw" not in caplog.text
    assert engine.journal.entries()[1].why == why
