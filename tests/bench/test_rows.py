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
    unsupported = "not supported by this virt (virt serve has no --no-fallback)"
    assert Row("fallback", 100_000, None, skipped=unsupported, p99_target_ms=5).verdict == "n/a"


def test_the_fallback_row_is_held_to_its_p99_not_to_a_ratio() -> None:
    def fallback(p99: float, base: Side | None = None) -> Row:
        load = Load(15000, 15.0, 1.0, p99, 0, 0)
        return Row("fallback", 100_000, None, Side("s", load, 50.0, 1.0), base, p99_target_ms=5)

    assert fallback(5.0).verdict == "PASS"
    assert fallback(5.01, base=side(100_000)).verdict == "MISS"
    broken = fallback(1.0)
    broken.problem = "virt serve: the unrecorded GET /api/items/1007?page=0 was answered 599"
    assert broken.verdict == "FAIL"
