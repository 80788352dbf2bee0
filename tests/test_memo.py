"""Memo: bounded, and the oldest entry goes first."""

from __future__ import annotations

from virt.memo import Memo


def test_a_full_memo_forgets_its_oldest_entry() -> None:
    memo: Memo[str, int] = Memo(3)
    for i, key in enumerate("abcd"):
        memo.put(key, i)
    assert len(memo) == 3
    assert memo.get("a") is None
    assert [memo.get(k) for k in "bcd"] == [1, 2, 3]


def test_putting_a_known_key_again_replaces_its_value() -> None:
    memo: Memo[str, int] = Memo(2)
    memo.put("a", 1)
    memo.put("a", 2)
    assert memo.get("a") == 2


def test_evictions_stay_cheap_after_many_of_them() -> None:
    memo: Memo[int, int] = Memo(100)
    for i in range(200_000):  # a dict deleted from its front would crawl here
        memo.put(i, i)
    assert len(memo) == 100 and memo.get(199_999) == 199_999 and memo.get(199_899) is None
