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
        ids, first = store.exact_first(lookup.exact)
        assert ids == [new.id] and first is not None and first.response.body == b"new"
        assert [i.id for i in store.find(Filter())] == [old.id, new.id]
    finally:
        store.close()


def test_the_first_read_of_a_key_gives_every_id_of_its_sequence_and_its_first_recording(
    tmp_path: Path,
) -> None:
    store = Store.open(tmp_path / "rec.db")
    try:
        request = Request("GET", "https", "api.test", 443, "/jobs/7")
        lookup = keys(request)
        made = [
            store.insert(Interaction(request, Response(200, body=b)), lookup).id
            for b in (b"pending", b"running", b"done")
        ]
        ids, first = store.exact_first(lookup.exact)
        assert ids == made and first is not None and first.response.body == b"pending"
        assert store.exact_first("no such key") == ([], None)
    finally:
        store.close()
