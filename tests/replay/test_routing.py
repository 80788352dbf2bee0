"""Router: which recorded upstream a direct-door request stands for."""

from __future__ import annotations

import pytest

from virt.errors import ConfigError
from virt.replay.routing import Route, Router
from virt.store import Origin

GITHUB = Origin("https", "api.github.com", 443)
LOCAL = Origin("http", "127.0.0.1", 8081)
EXAMPLE_HTTPS = Origin("https", "api.example.com", 443)
EXAMPLE_HTTP = Origin("http", "api.example.com", 80)
EXAMPLE_ALT = Origin("https", "api.example.com", 8443)


def router(routes: list[str], origins: list[Origin]) -> Router:
    return Router([Route.parse(r) for r in routes], lambda: sorted(origins))


@pytest.mark.parametrize(
    ("spec", "route"),
    [
        ("/github=https://api.github.com", Route("/github", GITHUB, "")),
        ("/github/=https://api.github.com/", Route("/github", GITHUB, "")),
        ("/svc=http://127.0.0.1:8081/base/v1", Route("/svc", LOCAL, "/base/v1")),
        ("/=https://api.example.com:8443", Route("", EXAMPLE_ALT, "")),
        ("/h=http://API.Example.com", Route("/h", EXAMPLE_HTTP, "")),
    ],
)
def test_route_parse_reads_prefix_origin_port_and_base_path(spec: str, route: Route) -> None:
    assert Route.parse(spec) == route


@pytest.mark.parametrize(
    "spec",
    [
        "nonsense",
        "github=https://api.github.com",
        "/github",
        "/github=",
        "/github=api.github.com",
        "/github=ftp://api.github.com",
        "/github=https://",
        "/github=https://api.github.com:notaport",
        "/github=https://api.github.com:99999",
    ],
)
def test_route_parse_rejects_a_bad_spec_with_config_error(spec: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Route.parse(spec)
    assert repr(spec) in str(caught.value)


def test_a_route_maps_its_prefix_onto_the_base_path() -> None:
    r = router(["/svc=http://127.0.0.1:8081/base"], [])
    assert r.resolve("/svc/items/1", None) == (LOCAL, "/base/items/1")
    assert r.resolve("/svc", None) == (LOCAL, "/base")
    assert r.resolve("/svc/", None) == (LOCAL, "/base/")


def test_a_route_without_base_path_keeps_a_root() -> None:
    r = router(["/github=https://api.github.com"], [])
    assert r.resolve("/github", None) == (GITHUB, "/")
    assert r.resolve("/github/repos", None) == (GITHUB, "/repos")


@pytest.mark.parametrize("reverse", [False, True], ids=["short-first", "long-first"])
def test_the_longest_prefix_wins_whatever_the_order_given(reverse: bool) -> None:
    specs = ["/api=http://127.0.0.1:8081", "/api/v2=https://api.github.com"]
    r = router(specs[::-1] if reverse else specs, [])
    assert r.resolve("/api/v2/users", None) == (GITHUB, "/users")
    assert r.resolve("/api/v1/users", None) == (LOCAL, "/v1/users")
    assert r.resolve("/api/v2x", None) == (LOCAL, "/v2x")


def test_a_prefix_covers_only_whole_path_segments() -> None:
    r = router(["/github=https://api.github.com"], [GITHUB, LOCAL])
    # /githubx is not under /github: with two upstreams and no Host naming one, no answer
    resolved = r.resolve("/githubx/repos", None)
    assert isinstance(resolved, str)
    # with one recorded upstream it falls back to that one, path untouched
    r = router(["/github=https://api.github.com"], [LOCAL])
    assert r.resolve("/githubx/repos", None) == (LOCAL, "/githubx/repos")


def test_routes_win_over_the_host_header() -> None:
    r = router(["/github=https://api.github.com"], [GITHUB, LOCAL])
    assert r.resolve("/github/x", "127.0.0.1:8081") == (GITHUB, "/x")


@pytest.mark.parametrize(
    ("host", "origin"),
    [
        ("api.example.com", EXAMPLE_HTTPS),
        ("API.Example.Com", EXAMPLE_HTTPS),
        ("api.example.com:80", EXAMPLE_HTTP),
        ("api.example.com:8443", EXAMPLE_ALT),
        ("api.example.com:443", EXAMPLE_HTTPS),
        ("127.0.0.1:8081", LOCAL),
        ("127.0.0.1", LOCAL),
    ],
)
def test_a_host_header_naming_a_recorded_host_picks_it(host: str, origin: Origin) -> None:
    r = router([], [EXAMPLE_HTTP, LOCAL, EXAMPLE_ALT, EXAMPLE_HTTPS])
    assert r.resolve("/items", host) == (origin, "/items")


def test_a_host_header_without_port_prefers_https_then_the_lowest_port() -> None:
    r = router([], [EXAMPLE_ALT, EXAMPLE_HTTP, LOCAL])
    assert r.resolve("/", "api.example.com") == (EXAMPLE_ALT, "/")
    r = router([], [EXAMPLE_ALT, EXAMPLE_HTTPS, EXAMPLE_HTTP])
    assert r.resolve("/", "api.example.com") == (EXAMPLE_HTTPS, "/")


def test_an_ipv6_host_header_keeps_its_colons() -> None:
    v6 = Origin("http", "::1", 8080)
    r = router([], [v6, LOCAL])
    assert r.resolve("/x", "[::1]:8080") == (v6, "/x")
    assert r.resolve("/x", "[::1]") == (v6, "/x")


def test_one_recorded_upstream_answers_whatever_the_host_header() -> None:
    r = router([], [LOCAL])
    assert r.resolve("/items", "localhost:8000") == (LOCAL, "/items")
    assert r.resolve("/items", None) == (LOCAL, "/items")


def test_an_empty_database_says_so() -> None:
    assert router([], []).resolve("/items", "localhost:8000") == (
        "the database has no recordings yet"
    )


@pytest.mark.parametrize("host", [None, "localhost:8000", "api.example.com:9999"])
def test_several_upstreams_and_no_route_explain_what_to_do(host: str | None) -> None:
    resolved = router([], [GITHUB, LOCAL, EXAMPLE_HTTPS]).resolve("/items", host)
    assert isinstance(resolved, str)
    assert resolved.startswith("3 upstreams are recorded")
    for url in ("https://api.github.com", "http://127.0.0.1:8081", "https://api.example.com"):
        assert url in resolved
    assert "--route PREFIX=URL" in resolved
    assert "Host header" in resolved
