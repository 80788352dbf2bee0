"""The shared recording corpus: where it is, and its files per format as pytest parameters.

Tests find it at ../shared/corpus from the repository root (CI lays it there too). A test that
needs it and cannot find it fails, naming the path it looked for.

Each format's test module (tests/formats/test_<module>.py) covers:
- every corpus file of the format as a parametrized case (ids = path): it imports, yields at
  least one Interaction (request-only files: only Skipped, each with a reason), and each
  interaction is sane (method; scheme http or https; a host; a path starting with "/";
  100 <= status <= 599). Files marked malformed raise ImportFormatError naming the path;
- self-replay of every file in-process: its interactions inserted into a real Store in
  tmp_path, then each request, in order, matched by Engine to the interaction it came from
  (same status and decoded body), with the count per corpus folder printed;
- exact details read from a few hand-picked files (a URL, a status, a header, a body, a
  binary body's hash, gzip handled right);
- random bytes and structures fed to the reader raise ImportFormatError and nothing else
  (hypothesis);
- for a format virt exports: export then import keeps every interaction's method, URL,
  request body, status, headers in order and response body, over the corpus and over
  interactions built with tricky bytes (binary, gzip, non-ASCII text, repeated headers).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO

CORPUS = Path(os.environ.get("VIRT_CORPUS", REPO.parent / "shared" / "corpus")).resolve()

MALFORMED = {
    # INDEX.md: "corrupted_har/* are intentionally malformed (negative tests)"
    "har/mitmproxy__mitmproxy/test/mitmproxy/data/corrupted_har/broken_headers.json",
    "har/mitmproxy__mitmproxy/test/mitmproxy/data/corrupted_har/brokenfile.har",
}


def require_corpus() -> Path:
    if not (CORPUS / "INDEX.md").is_file():
        pytest.fail(
            f"the recording corpus is missing: looked for {CORPUS}/INDEX.md "
            "(lay ../shared/corpus beside the repository, or set VIRT_CORPUS)",
            pytrace=False,
        )
    return CORPUS


def corpus_files(fmt: str, *, body_dirs: tuple[str, ...] = ()) -> list[Any]:
    """pytest params, one per recording file of `fmt`, id'd by path; files under a folder
    named in `body_dirs` (e.g. "__files") are bodies, not recordings, and are left out.

    Without the corpus, one param that fails with the reason, so the gap is never silent.
    """
    root = CORPUS / fmt
    if not root.is_dir():
        return [pytest.param(None, id=f"{fmt}-corpus-missing")]
    params = []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(CORPUS).as_posix()
        if any(part in body_dirs for part in path.relative_to(root).parts[:-1]):
            continue
        marks = [pytest.mark.malformed] if rel in MALFORMED else []
        params.append(pytest.param(path, id=rel.removeprefix(fmt + "/"), marks=marks))
    return params


def is_malformed(path: Path) -> bool:
    return path.relative_to(CORPUS).as_posix() in MALFORMED
