"""open_state picks the backend a URL names, and refuses a bad one by name, without its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from virt.errors import ConfigError
from virt.state import MemoryState, open_state
from virt.state.base import shown
from virt.state.redis import DEFAULT_TTL, RedisState
from virt.state.sqlite import SqliteState


def test_no_url_keeps_the_state_in_memory() -> None:
    assert isinstance(open_state(None), MemoryState)
    assert isinstance(open_state("memory"), MemoryState)


@pytest.mark.parametrize("form", ["sqlite://{p}", "sqlite:///{p}", "{p}"])
def test_a_path_or_sqlite_url_opens_a_state_file(tmp_path: Path, form: str) -> None:
    """sqlite:///tmp/s.db and sqlite:////tmp/s.db both name /tmp/s.db."""
    path = tmp_path / "state.db"
    state = open_state(form.format(p=path))
    assert isinstance(state, SqliteState) and state.path == path and path.exists()


def test_a_redis_url_takes_namespace_and_ttl_and_never_shows_its_password() -> None:
    state = open_state("redis://:s3cret@127.0.0.1:6390/2?namespace=ci-7&ttl=60")
    assert isinstance(state, RedisState)
    assert (state.namespace, state.ttl) == ("ci-7", 60)
    assert "s3cret" not in state.url and state.url == "redis://:***@127.0.0.1:6390/2"
    plain = open_state("rediss://cache.internal:6380/0")
    assert isinstance(plain, RedisState) and plain.ttl == DEFAULT_TTL
    assert plain.url == "rediss://cache.internal:6380/0"


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgres://u:s3cret@db/x", "unknown state URL postgres://u:***@db/x"),
        ("redis://:s3cret@127.0.0.1:notaport/0", "bad state URL redis://:***@"),
        ("redis:///0", "no host"),
        ("redis://127.0.0.1:6379/0?ttl=soon", "ttl='soon' is not a number"),
        ("redis://127.0.0.1:6379/0?ttl=0", "state ttl 0"),
        ("redis://127.0.0.1:6379/0?namespace=a*b", "state namespace 'a*b'"),
        ("sqlite://", "no file"),
        ("", "empty state URL"),
    ],
)
def test_a_bad_url_is_a_config_error_naming_it(url: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        open_state(url)
    assert says in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_shown_hides_only_the_password() -> None:
    assert shown("redis://user:pw@host:1/0") == "redis://user:***@host:1/0"
    assert shown("redis://host:1/0") == "redis://host:1/0"


def test_a_state_files_url_names_the_same_file_when_opened_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    for path in (tmp_path / "state.db", Path("relative.db")):
        again = open_state(open_state(str(path)).url)
        assert isinstance(again, SqliteState) and again.path == path
