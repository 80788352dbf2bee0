"""The format registry: every format module listed, names unique, misspelled names refused."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path

import pytest

import virt.formats
from virt.errors import ConfigError
from virt.formats import FORMATS, WRITERS, detect, expand, reader, writer


def _format_modules() -> list[str]:
    """Every module or package under virt/formats that defines a reader."""
    found = []
    for info in pkgutil.iter_modules(virt.formats.__path__):
        module = importlib.import_module(f"virt.formats.{info.name}")
        if hasattr(module, "READER") or hasattr(module, "READERS"):
            found.append(info.name)
    return found


@pytest.mark.parametrize("name", _format_modules())
def test_every_format_module_is_registered(name: str) -> None:
    module = importlib.import_module(f"virt.formats.{name}")
    for r in getattr(module, "READERS", [getattr(module, "READER", None)]):
        assert FORMATS[r.name] is r
    if hasattr(module, "WRITER"):
        assert WRITERS[module.WRITER.name] is module.WRITER


def test_most_specific_sniffers_are_asked_first() -> None:
    names = list(FORMATS)
    assert names[0] == "mitmproxy"
    assert names.index("go-vcr") < names.index("vcr")
    assert names.index("betamax") < names.index("vcr")
    assert names[-1] == "vcr"


def test_unknown_reader_name_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError) as caught:
        reader("harr")
    assert "unknown format 'harr'" in str(caught.value)
    assert "har, hoverfly" in caught.value.hint


def test_unknown_writer_name_lists_the_export_formats() -> None:
    with pytest.raises(ConfigError) as caught:
        writer("nock")
    assert caught.value.hint == "export formats: har, hoverfly, vcr, wiremock"
    assert writer("vcr") is WRITERS["vcr"]


def test_detect_claims_nothing_it_does_not_know(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("nothing recorded here\n")
    assert detect(path) is None


def test_expand_walks_folders_sorted_and_leaves_hidden_files_out(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/2.json", "b/1.json", "a.yaml", ".hidden.json", ".git/x.json"):
        (tmp_path / name).write_text("{}")
    found = [p.relative_to(tmp_path).as_posix() for p in expand([tmp_path])]
    assert found == ["a.yaml", "b/1.json", "b/2.json"]
