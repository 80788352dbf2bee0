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


def test_a_full_memo_made_with_again_takes_a_new_key_only_the_second_time() -> None:
    memo: Memo[str, int] = Memo(2, again=True)
    memo.put("a", 1)
    memo.put("b", 2)  # not full yet: both taken at once
    memo.put("c", 3)  # full: the first time "c" is only noted
    assert [memo.get(k) for k in "abc"] == [1, 2, None]
    memo.put("c", 3)  # the second time it is taken, and the oldest goes
    assert [memo.get(k) for k in "abc"] == [None, 2, 3]
    memo.put("b", 20)  # a key it holds is replaced at once
    assert memo.get("b") == 20


def test_keys_asked_once_each_leave_a_full_again_memo_as_it_was() -> None:
    memo: Memo[int, int] = Memo(100, again=True)
    for i in range(100):
        memo.put(i, i)
    for i in range(100, 100_000):  # a stream of keys never asked twice
        memo.put(i, i)
    assert len(memo) == 100 and memo.get(0) == 0 and memo.get(99_999) is None
