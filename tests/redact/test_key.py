"""The redaction key: from VIRT_SECRET_KEY or a private file, and never one too short to guard."""

from __future__ import annotations

import os
import stat
import subprocess
from pathlib import Path

import pytest

from tests.helpers import VIRT, clean_env, free_port
from virt.errors import ConfigError
from virt.redact.key import MIN_LENGTH, key_path, secret_key
from virt.store import Store


def test_a_short_key_in_the_environment_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("VIRT_SECRET_KEY", "k" * (MIN_LENGTH - 1))
    with pytest.raises(ConfigError) as e:
        secret_key(tmp_path / "api.db")
    assert str(e.value) == (
        f"VIRT_SECRET_KEY is too short: it has {MIN_LENGTH - 1} characters, "
        f"a key needs at least {MIN_LENGTH}"
    )
    assert "k" * (MIN_LENGTH - 1) not in str(e.value) + (e.value.hint or "")
    monkeypatch.setenv("VIRT_SECRET_KEY", "k" * MIN_LENGTH)
    assert secret_key(tmp_path / "api.db") == b"k" * MIN_LENGTH


@pytest.mark.parametrize("command", ["serve", "record"])
def test_virt_refuses_to_start_with_a_short_key(command: str, tmp_path: Path) -> None:
    db = tmp_path / "api.db"
    Store.open(db).close()
    args = ["--db", str(db), "--port", str(free_port()), "--confdir", str(tmp_path / "conf")]
    if command == "serve":
        args += ["--proxy-port", str(free_port())]
    done = subprocess.run(
        [*VIRT, command, *args],
        env=clean_env(VIRT_SECRET_KEY="short"),
        cwd=tmp_path,
        capture_output=True,
        timeout=60,
    )
    assert done.returncode != 0
    err = done.stderr.decode()
    assert "VIRT_SECRET_KEY is too short: it has 5 characters" in err, err
    assert "Traceback" not in err


def test_the_key_file_is_created_private_and_reused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRT_SECRET_KEY", raising=False)
    db = tmp_path / "rec" / "api.db"
    key = secret_key(db)
    path = key_path(db)
    assert path == tmp_path / "rec" / "api.db.key"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert secret_key(db) == key and len(key) == 64
    monkeypatch.setenv("VIRT_SECRET_KEY", "from-the-environment")
    assert secret_key(db) == b"from-the-environment"


def test_a_missing_key_is_an_error_when_it_may_not_be_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("VIRT_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError) as e:
        secret_key(tmp_path / "api.db", create=False)
    assert "api.db.key does not exist" in str(e.value)
