"""Finding learned routes by name: METHOD /path by template or by a path that has it, a part
of the name, a host with or without its port; and why a route gets no fallback."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from virt.model import Interaction, Request, Response
from virt.normalize import keys
from virt.schema.book import RouteBook
from virt.schema.routes import describe, exact, find, fits, profile, why_not
from virt.store import Store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store.open(tmp_path / "api.db")
    for method, host, port, path, status, ctype, body in (
        ("GET", "api.example.com", 443, "/users/7", 200, "application/json", b'{"id": 7}'),
        ("DELETE", "api.example.com", 443, "/users/7", 204, None, b""),
        ("GET", "api.example.com", 8443, "/users/7", 200, "application/json", b'{"id": 7}'),
        ("GET", "::1", 8080, "/health", 200, "text/plain", b"ok"),
        ("GET", "api.example.com", 443, "/gone", 404, "application/json", b"{}"),
    ):
        request = Request(method, "https", host, port, path)
        headers = (("Content-Type", ctype),) if ctype else ()
        s.insert(Interaction(request, Response(status, headers=headers, body=body)), keys(request))
    yield s
    s.close()


def names(store: Store, route: str | None = None, host: str | None = None) -> list[str]:
    return [r.name for r in find(store, route, host).routes]


def test_routes_are_sorted_by_origin_template_and_method(store: Store) -> None:
    assert names(store) == [
        "GET https://::1:8080/health",
        "GET https://api.example.com:443/gone",
        "DELETE https://api.example.com:443/users/{id}",
        "GET https://api.example.com:443/users/{id}",
        "GET https://api.example.com:8443/users/{id}",
    ]


def test_a_route_is_named_by_method_and_template_or_a_path_that_has_it(store: Store) -> None:
    on_443 = "GET https://api.example.com:443/users/{id}"
    assert names(store, "GET /users/{id}") == [on_443, on_443.replace(":443", ":8443")]
    assert names(store, "get /users/42", "api.example.com:443") == [on_443]
    assert names(store, "GET https://api.example.com/users/42") == [on_443]
    assert names(store, "GET /users") == []  # a METHOD /path names a whole template
    assert names(store, "users", "api.example.com:8443") == [on_443.replace(":443", ":8443")]
    assert names(store, "USERS/{ID}") == names(store, "users/{id}")


def test_a_host_is_a_name_a_name_and_port_or_an_ipv6_address(store: Store) -> None:
    assert len(names(store, host="API.example.com")) == 4
    assert (
        names(store, host="::1")
        == names(store, host="[::1]:8080")
        == ["GET https://::1:8080/health"]
    )
    assert names(store, host="[::1]:80") == []


def test_a_name_that_fits_several_routes_exactly_picks_that_one(store: Store) -> None:
    found = find(store, "users").routes
    assert len(found) == 3
    chosen = exact(found, "https://api.example.com:8443/users/{id}")
    assert len(chosen) == 1 and chosen[0].origin.endswith(":8443")
    assert fits(found[0], "DELETE /users/{id}")


def test_why_a_route_gets_no_fallback(store: Store) -> None:
    book = RouteBook(store)
    by_name = {r.name: profile(book, r) for r in find(store).routes}
    health = by_name["GET https://::1:8080/health"]
    gone = by_name["GET https://api.example.com:443/gone"]
    users = by_name["GET https://api.example.com:443/users/{id}"]
    assert health is not None and gone is not None and users is not None
    assert "not JSON" in (why_not(health) or "")
    assert "no successful" in (why_not(gone) or "")
    assert why_not(users) is None
    assert "--no-fallback" in (why_not(users, stage_on=False) or "")
    assert "not JSON" in (why_not(health, stage_on=False) or "")  # the route's own reason first
    shown = describe(users)
    assert (shown["fallback"], shown["why"], shown["recordings"]) == (True, None, 1)


def test_a_route_whose_schema_cannot_be_worked_out_says_why_and_others_show(
    store: Store,
) -> None:
    request = Request("GET", "https", "api.example.com", 443, "/huge")
    answer = Response(
        200, headers=(("Content-Type", "application/json"),), body=b"[" + b"0," * 500_000 + b"0]"
    )
    store.insert(Interaction(request, answer), keys(request))
    book = RouteBook(store)
    shown = [describe(p) for p in (profile(book, r) for r in find(store).routes) if p]
    huge = next(s for s in shown if s["template"] == "/huge")
    assert (huge["fallback"], huge["responses"]) == (False, {})
    assert "cannot be worked out" in huge["why"] and "500,000 values" in huge["why"]
    assert sum(s["fallback"] for s in shown) == 3  # the JSON routes still show theirs


def test_a_listing_reads_a_bounded_number_of_route_groups_and_says_so(store: Store) -> None:
    bounded = find(store, scan=2)
    assert bounded.truncated and len(bounded.routes) == 2
    whole = find(store, scan=5)
    assert not whole.truncated and len(whole.routes) == 5
