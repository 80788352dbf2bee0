"""[tool.virt], the command line and the marker: which wins, and what a mistake says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from virt.errors import ConfigError
from virt.pytest_plugin import pytest_addoption
from virt.pytest_plugin.settings import Mode, ProjectSettings, RunSettings, for_test

DOCS = Path(__file__).resolve().parents[2] / "docs" / "pytest.md"


def _project(tmp_path: Path, body: str) -> ProjectSettings:
    (tmp_path / "pyproject.toml").write_text(f"[tool.virt]\n{body}\n", encoding="utf-8")
    return ProjectSettings.read(tmp_path)


def _test(
    project: ProjectSettings,
    option_mode: str | None = None,
    marker: dict[str, Any] | None = None,
) -> RunSettings:
    return for_test(
        project,
        "test_api",
        option_mode=option_mode,
        option_db=None,
        option_strict=False,
        marker=marker or {},
    )


def test_marker_wins_over_command_line_which_wins_over_pyproject(tmp_path: Path) -> None:
    project = _project(tmp_path, 'mode = "record"\nrecordings = "rec"')
    assert _test(project).mode is Mode.RECORD
    assert _test(project).db == tmp_path / "rec" / "test_api.db"
    assert _test(project, option_mode="once").mode is Mode.ONCE
    marked = _test(project, option_mode="once", marker={"mode": "none", "db": "x.db"})
    assert (marked.mode, marked.db) == (Mode.NONE, tmp_path / "rec" / "x.db")


@pytest.mark.parametrize(
    ("body", "says"),
    [
        ('mode = "replya"', "unknown virt mode 'replya'"),
        ('mdoe = "record"', "unknown key 'mdoe'"),
        ("strict = 1", "strict must be true or false"),
        ('no_proxy = "localhost"', "no_proxy must be a list of strings"),
    ],
)
def test_a_mistake_in_pyproject_is_an_error_naming_it(tmp_path: Path, body: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        _project(tmp_path, body)


def test_an_unknown_marker_argument_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown argument 'record_mode'"):
        _test(_project(tmp_path, ""), marker={"record_mode": "once"})


def test_every_mode_option_and_setting_is_documented() -> None:
    text = DOCS.read_text(encoding="utf-8")
    options: list[str] = []

    class Group:
        def addoption(self, name: str, **_: object) -> None:
            options.append(name)

    class Parser:
        def getgroup(self, *_: object) -> Group:
            return Group()

    pytest_addoption(Parser())  # type: ignore[arg-type]
    names = [*options, *(f"`{m.value}`" for m in Mode), *(f"{k} =" for k in ProjectSettings.KEYS)]
    assert [n for n in names if n not in text] == []
