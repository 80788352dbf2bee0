"""The web page row: every view it times is a real page, and its p99 is that of every ask."""

from __future__ import annotations

from pathlib import Path

from bench import uipages, workload
from tests.ui.test_pages import Client, add, run


def test_every_view_the_row_times_answers_200_on_the_bench_workload(tmp_path: Path) -> None:
    async def body(c: Client) -> None:
        for i in range(10, 12):
            e = workload.entry(i)
            request = {"method": e.method, "url": f"http://{workload.HOST}{e.target}"}
            if e.body:
                request["body"] = e.body.decode()
            response = {"status": 200, "body": e.answer.decode()}
            await add(c, {"request": request, "response": response})
        for name, path in uipages.views(20):
            r = await c.get(path)
            assert r.status_code == 200, (name, path, r.text[:300])
        assert "/api/items/{id}" in (await c.get(uipages.views(20)[-1][1])).text

    run(tmp_path / "a.db", body)


def test_p99_is_the_value_under_which_99_in_100_asks_fall() -> None:
    assert uipages._p99([float(n) for n in range(1, 101)]) == 99.0
    assert uipages._p99([5.0]) == 5.0
