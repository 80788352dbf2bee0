"""The journal keeps the last answered requests, each small whatever the request."""

from __future__ import annotations

from virt.match.caps import URL_SHOWN
from virt.match.journal import Journal


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
