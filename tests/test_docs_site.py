"""The documentation site: generated references are current, commands in the docs exist, the
recipes do what they say, and `mkdocs build --strict` fails on what it must catch."""

from __future__ import annotations

import asyncio
import importlib.util
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import click
import httpx
import pytest
import yaml
from click.testing import CliRunner

from virt.admin.api import create_admin
from virt.cli import cli
from virt.match.engine import Engine
from virt.mitm.master import ensure_ca
from virt.replay.app import ReplayApp
from virt.replay.routing import Router
from virt.store import Store

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if p.name != "admin-api.md")
FENCE = re.compile(r"^(?P<fence>`{3,})(?P<info>[^\n]*)\n(?P<body>.*?)^(?P=fence)\s*$", re.M | re.S)
SHELLS = {"sh", "shell", "bash", "console"}


def _load(name: str) -> ModuleType:
    # by path, as tests/test_docs.py loads gen_cli: docs/ is not a package
    spec = importlib.util.spec_from_file_location(f"virt_docs_{name}", DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen_admin = _load("gen_admin")
hooks = _load("hooks")


def test_admin_api_reference_matches_the_openapi_document() -> None:
    assert (DOCS / "admin-api.md").read_text(encoding="utf-8") == gen_admin.current(), (
        "docs/admin-api.md is out of date: run python docs/gen_admin.py"
    )


def test_admin_api_reference_has_every_endpoint_parameter_and_schema() -> None:
    document = gen_admin.openapi()
    text = gen_admin.render(document)
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            assert f"## `{method.upper()} {path}`" in text
            for parameter in operation.get("parameters", []):
                assert f"- `{parameter['name']}` ({parameter['in']}," in text
    for name in document["components"]["schemas"]:
        assert f"### `{name}`" in text


def test_gen_admin_check_fails_on_a_stale_reference_and_rewrites_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stale = tmp_path / "admin-api.md"
    stale.write_text(gen_admin.current().replace("List Interactions", "List"), encoding="utf-8")
    monkeypatch.setattr(gen_admin, "ADMIN_API_MD", stale)
    assert gen_admin.main(["--check"]) == 1
    assert "run python docs/gen_admin.py" in capsys.readouterr().err
    assert gen_admin.main([]) == 0
    assert gen_admin.main(["--check"]) == 0


def _shell_lines(text: str) -> list[str]:
    """The commands of the shell blocks of a page, continuation lines joined: every line of an
    sh block but comments, and the `$ ` lines of a console block (the rest is output)."""
    lines: list[str] = []
    for m in FENCE.finditer(text):
        language = m["info"].split(" ")[0].strip()
        if language not in SHELLS:
            continue
        for line in m["body"].replace("\\\n", " ").splitlines():
            if language == "console":
                if line.startswith("$ "):
                    lines.append(line[2:])
            elif not line.lstrip().startswith("#"):
                lines.append(line)
    return lines


VIRT_CALL = re.compile(r"(?:^|[\s;|&(])virt((?:\s+(?:\"[^\"]*\"|'[^']*'|[^\s;|&)#`\"']+))+)")
# what may stand before a command: nothing, variable assignments, or a shell operator
COMMAND_POSITION = re.compile(r"^\s*(?:[A-Za-z_]\w*=\S*\s+)*$|(?:\$\(|[;&|(`])\s*$")


def _virt_calls(page: Path) -> list[tuple[str, list[str]]]:
    """Each `virt …` command of the page's shell blocks, as (line, arguments)."""
    calls = []
    for line in _shell_lines(page.read_text(encoding="utf-8")):
        line = line.split(" # ", 1)[0]
        for m in VIRT_CALL.finditer(line):
            if not COMMAND_POSITION.search(line[: m.start(1) - len("virt")]):
                continue  # an argument named virt (docker build -t virt .), not the command
            try:
                args = shlex.split(m[1])
            except ValueError:
                args = m[1].split()
            calls.append((line.strip(), args))
    return calls


def _option_names(command: click.Command) -> set[str]:
    return {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_every_virt_command_in_the_docs_names_a_command_and_options_virt_has(page: Path) -> None:
    for line, args in _virt_calls(page):
        command: click.Command = cli
        options = _option_names(cli)
        for arg in args:
            if arg.startswith("-"):
                name = arg.split("=", 1)[0]
                assert name in options | {"-h", "--help"}, (
                    f"{page.relative_to(ROOT)}: `{line}`: {name} is not an option of {command.name}"
                )
            elif command is cli:
                assert arg in cli.commands, (
                    f"{page.relative_to(ROOT)}: `{line}`: virt has no command {arg!r}"
                )
                command = cli.commands[arg]
                options = _option_names(command)


def test_the_command_check_reads_calls_from_shell_blocks_only(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(
        "virt nothing here\n\n```sh\nvirt serve --db a.db \\\n    --port 1  # virt bogus\n"
        '# virt record --bogus\nX=1 virt ca --env\necho "$(virt ca --cert)"\n'
        "docker build -t virt . && virt scan --json\n```\n\n"
        "```console\n$ virt scan --db a.db\nvirt reads output\n```\n\n```text\nvirt: error\n```\n",
        encoding="utf-8",
    )
    assert [args for _, args in _virt_calls(page)] == [
        ["serve", "--db", "a.db", "--port", "1"],
        ["ca", "--env"],
        ["ca", "--cert"],
        ["scan", "--json"],
        ["scan", "--db", "a.db"],
    ]


# -- the importing recipe, run as written -------------------------------------------------------

IMPORTING = DOCS / "recipes" / "importing.md"
TITLED = re.compile(r'title="(?P<name>[^"]+)"')
CURL = re.compile(
    r"curl -H '(?P<host>Host: [^']+)' http://127\.0\.0\.1:8000(?P<path>/\S*)"
    r"\s*(?:#\s*(?P<note>.*))?$"
)


def test_importing_recipe_files_import_and_replay_as_the_page_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = IMPORTING.read_text(encoding="utf-8")
    for m in FENCE.finditer(text):
        if title := TITLED.search(m["info"]):
            target = tmp_path / title["name"]
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(m["body"], encoding="utf-8")
    lines = [line.split(" # ", 1)[0] for line in _shell_lines(text)]
    imports = [line for line in lines if line.startswith("virt import")]
    assert imports, "docs/recipes/importing.md has no virt import command"
    monkeypatch.chdir(tmp_path)
    (tmp_path / "recordings").mkdir()
    for line in imports:
        result = CliRunner().invoke(cli, shlex.split(line)[1:], catch_exceptions=False)
        assert result.exit_code == 0, result.output
    shown = re.search(r"```text\n(imported .*?)```", text, re.S)
    assert shown is not None
    assert result.stdout == shown[1], "the import report on the page differs from virt's"

    curls = [m for line in _shell_lines(text) if (m := CURL.search(line.strip()))]
    assert len(curls) >= 3
    db = tmp_path / shlex.split(imports[0])[shlex.split(imports[0]).index("--db") + 1]
    store = Store.open(db)
    try:
        engine = Engine(store)
        app = ReplayApp(engine, Router([], engine.origins), create_admin(engine))

        async def ask(host: str, path: str) -> httpx.Response:
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://virt") as client:
                return await client.get(path, headers={"Host": host})

        for m in curls:
            host = m["host"].split(": ", 1)[1]
            response = asyncio.run(ask(host, m["path"]))
            assert response.status_code == 200, (m[0], response.text)
            said = re.search(r"X-Virt-Match: (\S+)", m["note"] or "")
            if said:
                assert response.headers["x-virt-match"] == said[1], m[0]
    finally:
        store.close()


# -- the hooks and the strict build ---------------------------------------------------------------


def test_a_link_out_of_docs_names_the_repository_file_it_points_at() -> None:
    assert hooks.repo_target("docs/index.md", "../CHANGELOG.md") == "CHANGELOG.md"
    assert hooks.repo_target("docs/recipes/x.md", "../../bench/RESULTS.md") == "bench/RESULTS.md"
    assert hooks.repo_target("docs/index.md", "cli.md") is None  # a page of the site
    assert hooks.repo_target("docs/index.md", "../no-such-file.md") is None
    assert hooks.repo_target("docs/index.md", "../../outside.md") is None
    assert hooks.repo_target("docs/index.md", "https://example.com/x.md") is None
    assert hooks.site_path("bench/RESULTS.md") == "repo/bench/RESULTS.md"
    assert hooks.site_path("Dockerfile") == "repo/Dockerfile.md"


def test_a_repository_file_that_is_not_markdown_becomes_a_fenced_page() -> None:
    page = hooks.page_text("pyproject.toml")
    assert page.startswith("# `pyproject.toml`\n\n```toml\n")
    assert page.endswith("```\n")


def test_the_strict_build_fails_on_a_broken_link_and_a_stale_reference(tmp_path: Path) -> None:
    if shutil.which("mkdocs", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("mkdocs is not installed: pip install -e '.[docs]', or make test")
    site = tmp_path / "tree"
    shutil.copytree(DOCS, site / "docs")
    for name in ("mkdocs.yml", "CHANGELOG.md", "README.md"):
        shutil.copy(ROOT / name, site / name)
    (site / "bench").mkdir()
    shutil.copy(ROOT / "bench" / "RESULTS.md", site / "bench" / "RESULTS.md")
    shutil.copytree(ROOT / "examples", site / "examples")
    concepts = site / "docs" / "concepts.md"
    concepts.write_text(
        concepts.read_text(encoding="utf-8") + "\n[gone](no-such-page.md)\n", encoding="utf-8"
    )
    admin_api = site / "docs" / "admin-api.md"
    admin_api.write_text(admin_api.read_text(encoding="utf-8") + "\nedited\n", encoding="utf-8")
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=site,
        capture_output=True,
        text=True,
        timeout=120,
        env={"PATH": "/usr/bin:/bin", "NO_MKDOCS_2_WARNING": "1"},
    )
    assert result.returncode != 0
    warnings = [line for line in result.stderr.splitlines() if line.startswith("WARNING")]
    assert any("'concepts.md' contains a link 'no-such-page.md'" in w for w in warnings)
    stale = "docs/admin-api.md is out of date: run python docs/gen_admin.py"
    assert any(stale in w for w in warnings)
    # the repository files the pages link to became pages: none of those links is broken
    outside = ("CHANGELOG.md", "README.md", "bench/RESULTS.md", "examples/")
    assert not [w for w in warnings if "contains a link" in w and any(o in w for o in outside)]


# -- the compose recipe agrees with virt and its image ---------------------------------------------


def test_compose_recipe_uses_virts_variables_ports_volumes_and_bundle(tmp_path: Path) -> None:
    text = (DOCS / "recipes" / "compose.md").read_text(encoding="utf-8")
    blocks = [m["body"] for m in FENCE.finditer(text) if m["info"].strip() == "yaml"]
    assert len(blocks) == 1
    compose = yaml.safe_load(blocks[0])
    virt, app = compose["services"]["virt"], compose["services"]["app"]
    serve = cli.commands["serve"]
    envvars = {
        name
        for param in serve.params
        for name in ([param.envvar] if isinstance(param.envvar, str) else param.envvar or [])
    }
    assert set(virt["environment"]) <= envvars, set(virt["environment"]) - envvars
    dockerfile = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    exposed = re.search(r"^EXPOSE (.+)$", dockerfile, re.M)
    volumes = re.search(r"^VOLUME \[(.+)\]$", dockerfile, re.M)
    assert exposed is not None and volumes is not None
    for port in virt["ports"]:
        assert port.rsplit(":", 1)[1] in exposed[1].split()
    mounted = {v.split(":")[1] for v in virt["volumes"]}
    assert mounted == {v.strip().strip('"') for v in volumes[1].split(",")}
    assert re.search(r"^\s+VIRT_CONFDIR=/ca\b", dockerfile, re.M)
    assert app["environment"]["HTTPS_PROXY"].endswith(":8080")
    assert "VIRT_PROXY_PORT=8080" in dockerfile
    bundle = ensure_ca(tmp_path).bundle  # as virt serve writes it into VIRT_CONFDIR
    assert app["environment"]["SSL_CERT_FILE"] == f"/ca/{bundle.name}"
    assert app["environment"]["REQUESTS_CA_BUNDLE"] == f"/ca/{bundle.name}"


def test_every_figure_the_comparison_quotes_is_in_bench_results() -> None:
    text = (DOCS / "comparison.md").read_text(encoding="utf-8")
    measured = text.split("## Measured here", 1)[1]
    results = (ROOT / "bench" / "RESULTS.md").read_text(encoding="utf-8")
    rows = [line for line in measured.splitlines() if line.startswith("| ") and "---" not in line]
    figures = [f for row in rows[1:] for f in re.findall(r"(?<![\w.])\d[\d,]*(?:\.\d+)?x?", row)]
    assert len(figures) >= 16
    missing = [f for f in figures if f not in results]
    assert not missing, (
        f"docs/comparison.md quotes {missing}, which bench/RESULTS.md does not have: copy the "
        "figures of the latest make bench"
    )
    date = re.search(r"RESULTS\.md\)\s+of (\d{4}-\d{2}-\d{2})", measured)
    assert date is not None and f"date: {date[1]}" in results
