"""wrk with bench/workload.lua: the requests it sends are the workload's, and every answer that
is not 200 is counted and named."""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench import baseline, unrecorded, workload, wrk
from tests.helpers import Upstream


@pytest.fixture
def needs_wrk() -> None:
    """Fails (never skips) a test that drives wrk where there is none: make test installs it."""
    if shutil.which("wrk") is None:
        pytest.fail("wrk is not installed: apt-get install wrk, or make system-deps")


@pytest.fixture(scope="module")
def bare(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Upstream]:
    """The bare app of make bench on the first 200 entries."""
    har = tmp_path_factory.mktemp("har") / "w.har"
    workload.write_har(200, har)
    up = Upstream(baseline.create(har)).start()
    yield up
    up.stop()


@pytest.mark.usefixtures("needs_wrk")
def test_every_request_wrk_sends_is_an_entry_of_the_workload(bare: Upstream) -> None:
    load = wrk.run(bare.url, 200, 1, 2)
    assert load.requests > 0
    assert (load.not_ok, load.socket_errors, load.first_bad) == (0, 0, "")


@pytest.mark.usefixtures("needs_wrk")
def test_answers_that_are_not_200_are_counted_and_the_first_is_named(bare: Upstream) -> None:
    # entries 200 to 399 were never recorded: the bare app answers them 404
    load = wrk.run(bare.url, 400, 1, 2)
    assert load.not_ok > 0
    assert load.failed >= load.not_ok
    assert load.first_bad.startswith("404")


@pytest.mark.usefixtures("needs_wrk")
def test_in_fallback_mode_no_request_is_a_recorded_entry(bare: Upstream) -> None:
    # the bare app answers the 200 entries it was given, and 404 to anything else
    load = wrk.run(bare.url, 200, 1, 2, mode="fallback")
    assert load.requests > 0
    assert load.not_ok == load.requests
    assert load.first_bad.startswith("404")


@pytest.mark.usefixtures("needs_wrk")
def test_in_fallback_mode_every_request_is_one_of_bench_unrecorded() -> None:
    size = 200
    known = {unrecorded.request(size, i).key for i in range(size)}

    async def answer(request: Request) -> Response:
        key = (request.method, request.url.path, request.url.query, await request.body())
        return Response(b"{}", status_code=200 if key in known else 404)

    up = Upstream(Starlette(routes=[Route("/{rest:path}", answer, methods=["GET", "POST"])]))
    up.start()
    try:
        load = wrk.run(up.url, size, 1, 2, mode="fallback")
    finally:
        up.stop()
    assert load.requests > 0
    assert (load.not_ok, load.socket_errors, load.first_bad) == (0, 0, "")


def test_a_run_without_a_result_line_fails_and_shows_what_wrk_said() -> None:
    with pytest.raises(SystemExit, match="unable to connect"):
        wrk.parse("", "unable to connect to 127.0.0.1:1", ["wrk"])


def test_the_result_line_gives_milliseconds_and_rate() -> None:
    line = (
        'BENCH {"requests": 3000, "duration_us": 1500000, "not_ok": 1, "socket_errors": 2, '
        '"latency_p50_us": 1500, "latency_p99_us": 9000, "first_bad": "599 miss"}'
    )
    load = wrk.parse("Running 1s test\n" + line + "\n", "", ["wrk"])
    assert load.rps == 2000
    assert (load.p50_ms, load.p99_ms, load.failed, load.first_bad) == (1.5, 9.0, 3, "599 miss")
    assert load.client_cpu is None
