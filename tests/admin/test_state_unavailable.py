"""The admin API when the shared session state is away: 503 naming it, never a 500."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from tests.state.redisserver import RedisServer
from virt.admin.api import create_admin
from virt.match.engine import Engine
from virt.state import open_state
from virt.store import Store


def test_journal_stats_and_reset_answer_503_naming_the_state_while_redis_is_away(
    tmp_path: Path,
) -> None:
    server = RedisServer(tmp_path, password="s3cret-pw").start()
    store = Store.open(tmp_path / "rec.db")
    engine = Engine(store, state=open_state(server.url))
    admin = create_admin(engine, host="virt.test")
    server.kill()

    async def main() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=admin)
        async with httpx.AsyncClient(transport=transport, base_url="http://virt.test") as client:
            return [
                await client.get("/__virt/journal"),
                await client.get("/__virt/stats"),
                await client.post("/__virt/reset"),
            ]

    try:
        for resp in asyncio.run(main()):
            assert resp.status_code == 503, resp.text
            detail = resp.json()["detail"]
            assert detail.startswith(f"session state at redis://:***@127.0.0.1:{server.port}/0")
            assert "s3cret-pw" not in resp.text
    finally:
        engine.state.close()
        store.close()
