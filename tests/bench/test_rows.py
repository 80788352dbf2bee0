"""A row's verdict: a wrong answer voids its figures, however fast."""

from __future__ import annotations

from bench.rows import Row, Side
from bench.wrk import Load


def side(rps: float, not_ok: int = 0) -> Side:
    load = Load(int(rps * 10), 10.0, 1.0, 2.0, not_ok, 0)
    return Side("s", load, 50.0, 1.0)


def test_a_ratio_at_its_target_passes_and_below_it_misses() -> None:
    assert Row("r", 1000, 2.0, virt=side(2000), base=side(1000)).verdict == "PASS"
    assert Row("r", 1000, 2.0, virt=side(1999), base=side(1000)).verdict == "MISS"


def test_a_row_with_a_problem_fails_even_when_fast() -> None:
    row = Row("r", 1000, 2.0, virt=side(9000, not_ok=3), base=side(1000))
    row.problem = "virt serve: 3 answers were not 200"
    assert (row.failed, row.verdict) == (True, "FAIL")


def test_an_unsupported_row_is_neither_pass_nor_fail() -> None:
    row = Row("--workers 2 vs 1", 1000, 1.7, skipped="not supported by this virt")
    assert (row.failed, row.verdict, row.ratio) == (False, "n/a", None)
    assert Row("fallback (#16)", 100_000, None, skipped="n/a until #16").verdict == "n/a"
