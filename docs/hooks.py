"""MkDocs hooks of virt's documentation site (mkdocs.yml `hooks:`).

Two jobs, both so that the site and the Markdown read on GitHub are one set of files:

- the generated references (the help blocks in cli.md, the whole of admin-api.md) must be what
  gen_cli.py and gen_admin.py would write now: a stale one is a warning, so `mkdocs build
  --strict` (`make docs`) fails and names the command that fixes it;
- a page may link to a file of the repository outside docs/ (`../CHANGELOG.md`,
  `../bench/RESULTS.md`, `../examples/compose/docker-compose.yml`): that file becomes a page
  of the site under repo/ (Markdown as it is, anything else in a code block), and the link is
  pointed at it. A link to a file that does not exist is left alone, for the strict build to
  report.
"""

from __future__ import annotations

import importlib.util
import logging
import posixpath
import re
from pathlib import Path
from types import ModuleType

from mkdocs.config.defaults import MkDocsConfig
from mkdocs.structure.files import File, Files
from mkdocs.structure.pages import Page

log = logging.getLogger("mkdocs.hooks.virt")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = "repo/"
"""Where repository files linked from the docs appear on the site."""
# an inline Markdown link's target, up to an optional #anchor: [text](target#anchor)
LINK = re.compile(r"(?P<open>\]\()(?P<target>[^)\s#]+)(?P<anchor>#[^)\s]*)?(?P<close>\))")
LANGUAGES = {
    ".yml": "yaml",
    ".yaml": "yaml",
    ".toml": "toml",
    ".py": "python",
    ".sh": "sh",
    ".json": "json",
    ".lua": "lua",
    ".ini": "ini",
    ".cfg": "ini",
}

_repo_pages: dict[str, str] = {}
"""Site path of each generated page -> its file, relative to the repository root."""


def _load(name: str) -> ModuleType:
    # by path: docs/ is not a package (tests/test_docs.py loads gen_cli the same way)
    spec = importlib.util.spec_from_file_location(f"virt_docs_{name}", DOCS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def on_pre_build(*, config: MkDocsConfig) -> None:
    """Warn (and so fail the strict build) when a generated reference is out of date."""
    gen_cli = _load("gen_cli")
    cli_md = gen_cli.CLI_MD.read_text(encoding="utf-8")
    if gen_cli.render(cli_md) != cli_md:
        log.warning("docs/cli.md: the help text is out of date: run python docs/gen_cli.py")
    gen_admin = _load("gen_admin")
    admin_md = gen_admin.ADMIN_API_MD
    if not admin_md.exists() or admin_md.read_text(encoding="utf-8") != gen_admin.current():
        log.warning("docs/admin-api.md is out of date: run python docs/gen_admin.py")


def repo_target(source: str, target: str) -> str | None:
    """The repository file a link from `source` (a repository path) names, if outside docs/.

    None for URLs, anchors, links within docs/ and links that leave the repository. A folder
    stands for its README.md.
    """
    if re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE) or target.startswith("/"):
        return None
    path = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
    if path == ".." or path.startswith("../") or path == "docs" or path.startswith("docs/"):
        return None
    if (ROOT / path).is_dir() and (ROOT / path / "README.md").is_file():
        path = f"{path}/README.md"
    return path if (ROOT / path).is_file() else None


def site_path(repo_path: str) -> str:
    """Where the repository file `repo_path` appears on the site: repo/<path>[.md]."""
    return GENERATED + (repo_path if repo_path.endswith(".md") else f"{repo_path}.md")


def page_text(repo_path: str) -> str:
    """The page for a repository file: Markdown as it is, anything else fenced under its name."""
    text = (ROOT / repo_path).read_text(encoding="utf-8")
    if repo_path.endswith(".md"):
        return text
    fence = "`" * max([3, *(len(run) + 1 for run in re.findall(r"`{3,}", text))])
    language = LANGUAGES.get(Path(repo_path).suffix, "text")
    if not text.endswith("\n"):
        text += "\n"
    return f"# `{repo_path}`\n\n{fence}{language}\n{text}{fence}\n"


def _links(source: str, text: str) -> set[str]:
    return {
        found
        for m in LINK.finditer(text)
        if (found := repo_target(source, m["target"])) is not None
    }


def on_files(files: Files, *, config: MkDocsConfig) -> Files:
    """Add a page for every repository file the docs link to, and for those they link to."""
    _repo_pages.clear()
    pending = set()
    for file in files.documentation_pages():
        source = f"docs/{file.src_uri}"
        pending |= _links(source, (DOCS / file.src_uri).read_text(encoding="utf-8"))
    while pending:
        repo_path = pending.pop()
        uri = site_path(repo_path)
        if uri in _repo_pages:
            continue
        content = page_text(repo_path)
        _repo_pages[uri] = repo_path
        files.append(File.generated(config, uri, content=content))
        if repo_path.endswith(".md"):
            pending |= _links(repo_path, content)
    return files


def on_page_markdown(markdown: str, *, page: Page, config: MkDocsConfig, files: Files) -> str:
    """Point links to repository files at their pages, and links from them back into docs/."""
    uri = page.file.src_uri
    source = _repo_pages.get(uri, f"docs/{uri}")

    def rewrite(m: re.Match[str]) -> str:
        target = m["target"]
        found = repo_target(source, target)
        if found is not None:
            new = site_path(found)
        elif uri in _repo_pages and not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.I):
            # a repository page's link into docs/: the site path is the path below docs/
            path = posixpath.normpath(posixpath.join(posixpath.dirname(source), target))
            if not path.startswith("docs/"):
                return m[0]
            new = path.removeprefix("docs/")
        else:
            return m[0]
        relative = posixpath.relpath(new, posixpath.dirname(uri) or ".")
        return f"{m['open']}{relative}{m['anchor'] or ''}{m['close']}"

    return LINK.sub(rewrite, markdown)
