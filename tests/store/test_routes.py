"""Reads for route profiles: the paths under a prefix (a range of the route index) and one
recording per route group."""

from __future__ import annotations

from pathlib import Path

import pytest

from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.store import Store


def add(store: Store, method: str, path: str, host: str = "api.example.com") -> int:
    request = Request(method, "https", host, 443, path)
    written = store.insert(Interaction(request, Response(200, body=b"{}")), keys(request))
    assert written.id is not None
    return written.id


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store.open(tmp_path / "routes.db")


def test_under_lists_the_paths_below_a_prefix_for_one_method_and_host(store: Store) -> None:
    alice = add(store, "GET", "/users/alice")
    bob = add(store, "GET", "/users/bob")
    add(store, "POST", "/users/carol")  # another method
    add(store, "GET", "/users/dave", host="other.example.com")  # another host
    add(store, "GET", "/usersX/eve")  # shares the text, not the folder
    add(store, "GET", "/user")
    assert sorted(store.under("GET", "api.example.com", "/users/", 100)) == [
        (alice, "/users/alice"),
        (bob, "/users/bob"),
    ]
    assert len(store.under("GET", "api.example.com", "/users/", 1)) == 1


def test_under_an_empty_or_undecodable_prefix_is_nothing(store: Store) -> None:
    add(store, "GET", "/users/alice")
    assert store.under("GET", "api.example.com", "", 10) == []
    assert store.under("GET", "api.example.com", "/us\udcffers/", 10) == []


def test_route_groups_name_each_group_once_by_its_first_recording(store: Store) -> None:
    first = add(store, "GET", "/items/1")
    add(store, "GET", "/items/2")  # the same group: /items/{id}
    post = add(store, "POST", "/items")
    health = add(store, "GET", "/health", host="status.example.com")
    groups = store.route_groups(100)
    assert sorted(id for id, _ in groups) == [first, post, health]
    assert len({route for _, route in groups}) == 3
    assert len(store.route_groups(2)) == 2
