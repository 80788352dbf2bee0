"""bench/RESULTS.md: the machine, every row, the direct door's other targets, the problems."""

from __future__ import annotations

from bench import report
from bench.rows import Row, Side
from bench.wrk import Load

MACHINE = report.Machine(
    "AMD EPYC", 2, 0.25, "3.11.7", "abc1234", "11.0.2", "0.55.0", "wrk 4.1.0", "2026-12-04"
)


def side(name: str, rps: float, p99: float = 2.0, ready: float = 1.0) -> Side:
    return Side(name, Load(int(rps * 15), 15.0, 1.0, p99, 0, 0), 80.0, ready)


def test_results_name_the_machine_and_hold_every_row() -> None:
    rows = [
        Row("direct door", 1000, 0.6, side("virt serve", 9000), side("bare app", 12000), "1.0"),
        Row("--workers 2 vs 1", 1000, 1.7, skipped="not supported by this virt"),
    ]
    text = report.markdown(rows, MACHINE, "guide")
    assert "AMD EPYC, 2 cores, load average 0.25" in text
    assert "virt abc1234, mitmproxy 11.0.2, uvicorn 0.55.0" in text
    assert "| direct door | 1,000 | 1.0 | virt serve | 9,000 |" in text
    assert "| 0.75x | >= 0.6x | PASS |" in text
    assert "--workers 2 vs 1 at 1,000: not supported by this virt" in text


def test_a_problem_cannot_break_the_markdown_table() -> None:
    row = Row("proxy door, HTTP", 1000, 2.0, problem="exited (1):\nerror | in | log")
    text = report.markdown([row], MACHINE, "")
    assert "- proxy door, HTTP at 1,000: exited (1):\n  error \\| in \\| log" in text


def test_the_million_row_is_held_to_the_thousand_row_and_to_three_seconds() -> None:
    rows = [
        Row("direct door", 1000, 0.6, side("virt serve", 10000), side("bare app", 12000)),
        Row(
            "direct door",
            1_000_000,
            0.6,
            side("virt serve", 8500, p99=6.0, ready=2.5),
            side("bare app", 10800),
        ),
    ]
    found = {target: (measured, verdict) for target, measured, verdict in report.targets(rows)}
    assert found["direct door p99 < 5 ms at 1,000"] == ("2.00 ms", "PASS")
    assert found["direct door p99 < 5 ms at 1,000,000"] == ("6.00 ms", "MISS")
    # beside it, what the bare app kept of its own figure in the same run
    assert found["direct door at 1,000,000 within 10% of 1,000"] == ("85% (bare app: 90%)", "MISS")
    assert found["direct door ready < 3 s at 1,000,000"] == ("2.50 s", "PASS")


def test_a_load_beside_other_work_is_flagged_for_a_rerun() -> None:
    busy = Side("virt serve", Load(15000, 15.0, 1.0, 2.0, 0, 0), 80.0, 1.0, others=0.8)
    row = Row("direct door", 1000, 0.6, busy, side("bare app", 1200))
    [note] = report.problems([row])
    assert note.startswith("direct door at 1,000: other work on the machine took cores")
    assert "0.80 during virt serve, 0.00 during bare app" in note
    assert report.problems([Row("direct door", 1000, 0.6, side("a", 1), side("b", 1))]) == []


def test_the_fallback_row_shows_its_p99_target_and_its_speed_against_recorded_answers() -> None:
    row = Row(
        "fallback",
        100_000,
        None,
        side("virt serve, unrecorded", 6000, p99=4.2),
        side("virt serve, recorded", 12000),
        p99_target_ms=5.0,
    )
    assert report.cells(row)[-3:] == ["0.50x", "p99 <= 5 ms", "PASS"]
    assert "| fallback | 100,000 |  | virt serve, unrecorded | 6,000 | 1.00 | 4.20 |" in (
        report.markdown([row], MACHINE, "")
    )
