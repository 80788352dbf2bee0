"""The journal keeps the last answered requests, each small whatever the request."""

from __future__ import annotations

from pathlib import Path

from virt.match.caps import URL_SHOWN
from virt.match.journal import Journal
from virt.state import open_state
from virt.store.tables import JournalRow


def test_a_long_url_and_reason_are_kept_cut_with_their_length() -> None:
    journal = Journal(size=2)
    url = "http://h/" + "a" * 100_000
    served = journal.add(door="direct", method="GET", url=url, match="miss", status=599, why=url)
    assert served.url == url[:URL_SHOWN] + f"... ({len(url):,} characters)"
    assert served.why == served.url


def test_only_the_last_entries_are_kept() -> None:
    journal = Journal(size=2)
    for n in range(5):
        journal.add(door="direct", method="GET", url=f"/{n}", match="exact", status=200)
    assert [e.url for e in journal.entries()] == ["/4", "/3"]
    assert journal.counts() == {"exact": 5}


def test_an_entry_persists_as_its_columns_with_why_and_explain_as_detail_json() -> None:
    journal = Journal()
    kw = {"door": "proxy", "method": "GET", "url": "http://h/x", "status": 200}
    fuzzy = journal.add(
        **kw, match="fuzzy", interaction_id=3, why="near", explain={"score": 0.9, "rule": "r"}
    )
    assert fuzzy.row() == JournalRow(
        at=fuzzy.at,
        door="proxy",
        method="GET",
        url="http://h/x",
        match="fuzzy",
        interaction_id=3,
        status=200,
        detail='{"why":"near","score":0.9,"rule":"r"}',
    )
    assert journal.add(**kw, match="exact").row().detail is None


def test_a_shared_journal_keeps_the_newest_entries_and_counts_every_answer(tmp_path: Path) -> None:
    state = open_state(str(tmp_path / "state.db"))
    shared = state.served()
    assert shared is not None
    journal = Journal(size=100, shared=shared)
    try:
        for i in range(250):
            journal.add(door="direct", method="GET", url=f"http://a/{i}", match="exact", status=200)
        journal.add(door="direct", method="GET", url="http://a/x", match="miss", status=599)
        entries = journal.entries(limit=1000)
        assert len(entries) == 100
        assert entries[0].url == "http://a/x" and entries[-1].url == "http://a/151"
        assert journal.counts() == {"exact": 250, "miss": 1}
    finally:
        state.close()
