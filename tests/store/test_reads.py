"""Reads: what matching may use of the recordings."""

from __future__ import annotations

from pathlib import Path

from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.store import Store
from virt.store.query import Filter
from virt.store.reads import SUPERSEDED


def test_superseded_recordings_are_kept_but_never_matched(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "rec.db")
    try:
        request = Request("GET", "https", "api.test", 443, "/users/1")
        lookup = keys(request)
        old = store.insert(Interaction(request, Response(200, body=b"old")), lookup)
        new = store.insert(Interaction(request, Response(200, body=b"new")), lookup)
        assert old.id is not None and new.id is not None and lookup.route and lookup.canonical
        store.set_tags(old.id, ["kept", SUPERSEDED])
        assert store.exact_ids(lookup.exact) == [new.id]
        assert store.canonical_ids(lookup.canonical) == [new.id]
        assert [i for i, _ in store.group_rows(lookup.route, 10)] == [new.id]
        assert [i for i, _ in store.same_path(lookup.route, request, 10)] == [new.id]
        assert [i.id for i in store.find(Filter())] == [old.id, new.id]
    finally:
        store.close()
