"""virt serve refuses a fault plan, an [idempotency] table or a --latency it cannot read before
it listens or writes anything, saying what is wrong and where (every way a rule can be wrong is
in tests/faults/test_plan.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cli.test_bad_input import assert_refused, db_args, make_virt_db, run, snapshot


@pytest.mark.parametrize(
    ("args", "toml", "needles"),
    [
        (["--fault", "POST /v1/charges: explode"], "", ["--fault #1", "unknown fault 'explode'"]),
        ([], "[[fault]]\nroute = 'GET /a'\nstatus = 503\n", ["unknown key 'status'"]),
        ([], "[idempotency]\nheaders = 'Idem'\n", ["[idempotency] takes one key, headers"]),
    ],
    ids=["action", "table-key", "idempotency"],
)
def test_serve_refuses_a_fault_plan_it_cannot_read(
    tmp_path: Path, confdir: Path, args: list[str], toml: str, needles: list[str]
) -> None:
    db = make_virt_db(tmp_path / "rec.db")
    if toml:
        (tmp_path / "virt.toml").write_text(toml)
    before = snapshot(tmp_path)
    assert_refused(run(*db_args("serve", db, confdir), *args, cwd=tmp_path), *needles)
    assert snapshot(tmp_path) == before


def test_serve_refuses_a_latency_that_is_not_recorded_none_or_a_factor(
    tmp_path: Path, confdir: Path
) -> None:
    db = make_virt_db(tmp_path / "rec.db")
    done = run(*db_args("serve", db, confdir), "--latency", "slow", cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "give recorded, none, or a factor" in done.stderr
