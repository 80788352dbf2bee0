"""The one YAML loader: alias bombs, alias cycles and deep nesting are refused while composing,
in every YAML format, naming the file and the line; real cassettes with a few aliases still read.

Through `virt import` (a subprocess, its peak memory measured) and POST /__virt/import on a
running `virt serve` as well as in-process.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
import yaml

from tests.helpers import VIRT, VirtProcess, clean_env, free_port, health_ok
from virt.formats import FORMATS, ImportFormatError, detect
from virt.formats.yamlsafe import MAX_ALIASES, MAX_DEPTH, SafeLoader, load

LEVELS = 9
"""Nine levels of nine aliases: 657 bytes that stand for 9**9 (387 million) strings."""


def bomb_lines(indent: str) -> list[str]:
    """The billion laughs, as YAML lines indented by `indent`, one anchor per line."""
    lines = [f'{indent}a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in range(1, LEVELS):
        refs = ",".join([f"*a{level - 1}"] * 9)
        lines.append(f"{indent}a{level}: &a{level} [{refs}]")
    return lines


def _vcr() -> str:
    return "\n".join(
        [
            "interactions:",
            "- request:",
            "    body: null",
            "    headers:",
            *bomb_lines("      "),
            "    method: GET",
            "    uri: http://example.com/",
            "  response:",
            "    body: {string: ok}",
            "    headers: {}",
            "    status: {code: 200, message: OK}",
            "version: 1",
        ]
    )


def _vcr_ruby() -> str:
    return "\n".join(
        [
            "---",
            "http_interactions:",
            "- request:",
            "    method: get",
            "    uri: http://example.com/",
            "    headers:",
            *bomb_lines("      "),
            "  response:",
            "    status: {code: 200, message: OK}",
            "    body: {encoding: UTF-8, string: ok}",
            "recorded_with: VCR 6.0.0",
        ]
    )


def _har() -> str:
    return "\n".join(
        [
            "log:",
            "  version: '1.2'",
            "  creator:",
            *bomb_lines("    "),
            "  entries: []",
        ]
    )


def _keploy() -> str:
    return "\n".join(
        [
            "version: api.keploy.io/v1beta1",
            "kind: Http",
            "name: test-1",
            "spec:",
            "  metadata:",
            *bomb_lines("    "),
        ]
    )


def _govcr() -> str:
    return "\n".join(
        [
            "version: 2",
            "interactions:",
            "- request:",
            "    headers:",
            *bomb_lines("      "),
            "    url: http://example.com/",
            "    method: GET",
            "  response:",
            "    body: ok",
            "    code: 200",
        ]
    )


BOMBS = {
    "vcr": ("cassette.yaml", _vcr()),
    "vcr-ruby": ("ruby.yml", _vcr_ruby()),
    "har": ("recording.har.yaml", _har()),
    "keploy": ("test-1.yaml", _keploy()),
    "go-vcr": ("govcr.yaml", _govcr()),
}
"""Per YAML format: a file name and an alias bomb that the format's reader claims."""


def write_bomb(folder: Path, fmt: str) -> Path:
    name, text = BOMBS[fmt]
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("fmt", sorted(BOMBS))
def test_every_yaml_format_refuses_an_alias_bomb_naming_the_file_and_line(
    tmp_path: Path, fmt: str
) -> None:
    path = write_bomb(tmp_path, fmt)
    assert len(path.read_bytes()) < 1024
    reader = detect(path)
    assert reader is not None and reader.name == fmt, "the bomb is claimed by its format"
    with pytest.raises(ImportFormatError, match="refusing a possible alias bomb") as e:
        list(reader.read(path))
    assert e.value.path == str(path)
    assert "line " in e.value.where


def test_aliases_past_the_budget_are_refused_even_when_each_is_small(tmp_path: Path) -> None:
    refs = "\n".join(f"  h{n}: *one" for n in range(MAX_ALIASES + 1))
    path = tmp_path / "many.yaml"
    path.write_text(f"a: &one x\nb:\n{refs}\n")
    with pytest.raises(ImportFormatError) as e:
        load(path.read_bytes(), path)
    assert e.value.why == (
        f"too many YAML aliases (budget {MAX_ALIASES}); refusing a possible alias bomb"
    )
    assert e.value.where == f"line {MAX_ALIASES + 3}"  # the first alias past the budget


def test_an_alias_inside_its_own_anchor_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cycle.yaml"
    path.write_text("a: &loop\n  b: *loop\n")
    with pytest.raises(ImportFormatError, match=r"alias \*loop refers to a node that contains it"):
        load(path.read_bytes(), path)


def test_nesting_past_the_depth_bound_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "deep.yaml"
    path.write_text("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1))
    with pytest.raises(ImportFormatError, match=f"nested deeper than {MAX_DEPTH} levels"):
        load(path.read_bytes(), path)
    fits = tmp_path / "fits.yaml"
    fits.write_text("[" * MAX_DEPTH + "]" * MAX_DEPTH)
    assert load(fits.read_bytes(), fits) is not None


def test_aliases_cannot_nest_deeper_than_the_bound_by_stacking(tmp_path: Path) -> None:
    half = MAX_DEPTH // 2 + 1
    path = tmp_path / "stacked.yaml"
    path.write_text(f"a: &deep {'[' * half}{']' * half}\nb: {'[' * half}*deep{']' * half}\n")
    with pytest.raises(ImportFormatError, match=r"through alias \*deep"):
        load(path.read_bytes(), path)


def test_a_cassette_with_the_aliases_pyyaml_writes_still_imports(tmp_path: Path) -> None:
    """PyYAML writes an anchor and aliases for an object shared between interactions."""
    headers = {"Content-Type": ["application/json"]}
    entry = {
        "request": {"body": None, "headers": headers, "method": "GET", "uri": "http://a.test/"},
        "response": {"body": {"string": "{}"}, "headers": headers, "status": {"code": 200}},
    }
    text = yaml.safe_dump({"interactions": [entry, entry, entry], "version": 1})
    assert "*id001" in text
    path = tmp_path / "shared.yaml"
    path.write_text(text)
    items = list(FORMATS["vcr"].read(path))
    assert [i.response.status for i in items] == [200, 200, 200]  # type: ignore[union-attr]


def test_the_safe_loader_still_refuses_python_objects() -> None:
    with pytest.raises(yaml.YAMLError):
        yaml.load("!!python/object/apply:os.system ['true']", Loader=SafeLoader)


_PEAK_OF_CHILD = (
    "import resource, subprocess, sys; "
    "code = subprocess.run(sys.argv[1:]).returncode; "
    "peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss; "
    "print('peak-rss-kb', peak, file=sys.stderr); "
    "sys.exit(code)"
)
"""Runs a command and prints its peak resident set, measured in a process of its own."""


def run_measured(
    args: list[str], cwd: Path, timeout: float
) -> tuple[subprocess.CompletedProcess[str], int]:
    """`args` run to the end, within `timeout` seconds; its result and peak resident set in MB."""
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_OF_CHILD, *args],
        env=clean_env(),
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    peak_line = done.stderr.rstrip().rpartition("\n")[2]
    assert peak_line.startswith("peak-rss-kb "), done.stderr
    return done, int(peak_line.split()[1]) // 1024


def test_virt_import_refuses_each_yaml_bomb_quickly_in_bounded_memory(tmp_path: Path) -> None:
    folder = tmp_path / "bombs"
    for fmt in BOMBS:
        (folder / fmt).mkdir(parents=True)
        write_bomb(folder / fmt, fmt)
    done, peak_mb = run_measured(
        [*VIRT, "import", "--db", str(tmp_path / "out.db"), str(folder)], tmp_path, timeout=60
    )
    assert done.returncode == 1, done.stderr
    assert "internal error" not in done.stderr
    for fmt, (name, _) in BOMBS.items():
        assert re.search(
            rf"{re.escape(str(folder / fmt / name))}: (document 0, )?line \d+: ", done.stderr
        )
    assert done.stderr.count("refusing a possible alias bomb") == len(BOMBS), done.stderr
    assert "5 file(s) could not be imported" in done.stderr
    assert peak_mb < 250, f"virt import peaked at {peak_mb} MB"


def _serve(tmp_path: Path) -> tuple[VirtProcess, int]:
    db = tmp_path / "served.db"
    db.touch()
    port = free_port()
    args = ["serve", "--db", str(db), "--port", str(port), "--no-proxy"]
    args += ["--confdir", str(tmp_path / "conf")]
    return VirtProcess(args, clean_env(), tmp_path).start(lambda: health_ok(port)), port


def test_the_admin_import_refuses_each_yaml_bomb_and_keeps_serving(tmp_path: Path) -> None:
    proc, port = _serve(tmp_path)
    try:
        for fmt, (name, text) in BOMBS.items():
            answer = httpx.post(
                f"http://127.0.0.1:{port}/__virt/import",
                params={"filename": name},
                content=text.encode(),
                headers={"Content-Type": "application/octet-stream"},
                timeout=10,
            )
            assert answer.status_code == 200, answer.text
            report = answer.json()
            assert report["imported"] == 0
            [failed] = report["failed"]
            assert failed["path"] == name, fmt
            assert failed["where"].startswith(("line ", "document 0, line ")), failed
            assert "refusing a possible alias bomb" in failed["why"], failed
            assert health_ok(port)
        peak_mb = peak_rss_mb(proc)
    finally:
        proc.stop()
    assert "Traceback" not in proc.output()
    assert peak_mb < 500, f"virt serve peaked at {peak_mb} MB"


def peak_rss_mb(proc: VirtProcess) -> int:
    """The peak resident set of a running process (Linux's VmHWM), in MB."""
    assert proc.proc is not None
    status = Path(f"/proc/{proc.proc.pid}/status").read_text()
    [line] = [x for x in status.splitlines() if x.startswith("VmHWM:")]
    return int(line.split()[1]) // 1024
