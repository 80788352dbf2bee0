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

The first two are shared here: assert_sane checks what one corpus file yielded, and
replay_in_process / replay_each_file do the self-replay. For the modules whose corpus cases
have one shape, check_file_imports and check_folder_replays are the whole of each case's
body, and folder_names / corpus_folders give the parameters of the per-folder cases;
reads_cleanly is the check of the fuzz cases.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.helpers import REPO
from virt.formats import detect
from virt.formats.base import ImportFormatError, Item, Reader, Skipped
from virt.match.engine import Engine, MatchKind
from virt.model import Interaction
from virt.normalize import exact_key
from virt.store import Store

FOLDERS = [
    "har",
    "vcr",
    "vcr-ruby",
    "betamax",
    "wiremock",
    "hoverfly",
    "mitmproxy-flows",
    "keploy",
    "nock",
    "go-vcr",
    "httpreplay",
]
"""The corpus's top folders, one per format (the figures at the end of a run go in this order)."""

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


def corpus(rel: str) -> Path:
    """The corpus file or folder at `rel` (a path under the corpus); fails without the corpus."""
    return require_corpus() / rel


def folder_names(fmt: str) -> list[str]:
    """pytest params, the names of the top folders of `fmt` in the corpus, in order; without
    the corpus, the one name "corpus-missing" (a case that then fails in require_corpus)."""
    root = CORPUS / fmt
    names = sorted(p.name for p in root.iterdir() if p.is_dir()) if root.is_dir() else []
    return names or ["corpus-missing"]


def corpus_folders(fmt: str) -> list[Any]:
    """pytest params, the top folders of `fmt` in the corpus as paths, id'd by name; without
    the corpus, one param of None id'd "<fmt>-corpus-missing"."""
    root = CORPUS / fmt
    if not root.is_dir():
        return [pytest.param(None, id=f"{fmt}-corpus-missing")]
    return [pytest.param(d, id=d.name) for d in sorted(root.iterdir()) if d.is_dir()]


def interactions_of(reader: Reader, path: Path) -> list[Interaction]:
    """The Interactions `reader` reads from `path`, in order (Skipped entries left out)."""
    return [i for i in reader.read(path) if isinstance(i, Interaction)]


def reads_cleanly(reader: Reader, path: Path) -> None:
    """Reading `path` either raises ImportFormatError or yields interactions and skipped
    entries: never another exception, never anything else (for the fuzz tests)."""
    try:
        items = list(reader.read(path))
    except ImportFormatError:
        return
    assert all(isinstance(i, Interaction | Skipped) for i in items)


def is_malformed(path: Path) -> bool:
    return path.relative_to(CORPUS).as_posix() in MALFORMED


def assert_sane(items: Sequence[Item], path: Path, source_format: str) -> list[Interaction]:
    """What the corpus file `path` yielded is sane: each item is an Interaction or a Skipped;
    a Skipped says why; an Interaction has an upper-case method of letters, scheme http or
    https, a host, a path starting with "/", a status from 100 to 599, and names `path` as its
    source and `source_format` as its format. Returns the interactions, in order.

    It does not ask for at least one item: each test says what an empty file means for it.
    """
    got = []
    for n, item in enumerate(items):
        where = f"{path}: item {n}"
        if isinstance(item, Skipped):
            assert item.why, f"{where} ({item.where}) is skipped without a reason"
            continue
        assert isinstance(item, Interaction), f"{where} is a {type(item).__name__}"
        request, response = item.request, item.response
        assert request.method.isupper() and request.method.isalpha(), (where, request.method)
        assert request.scheme in ("http", "https"), (where, request.scheme)
        assert request.host, where
        assert request.path.startswith("/"), (where, request.path)
        assert 100 <= response.status <= 599, (where, response.status)
        assert item.source == str(path), (where, item.source)
        assert item.source_format == source_format, (where, item.source_format)
        got.append(item)
    return got


def replay_in_process(db_path: Path, interactions: Sequence[Interaction]) -> list[Interaction]:
    """Insert `interactions` into a new Store at `db_path`, keyed by normalize.exact_key, then
    ask an Engine for each request in recorded order: each must be an exact match, answered
    with the status and body of the interaction it came from. Returns the answers, in order
    (so a test can also check which of several recordings of one request answered)."""
    store = Store.open(db_path)
    try:
        store.insert_many([(i, exact_key(i.request)) for i in interactions])
        engine = Engine(store)
        answers = []
        for n, interaction in enumerate(interactions):
            where = f"interaction {n} of {interaction.source}: {interaction.request!r}"
            match = engine.match(interaction.request)
            assert match.kind is MatchKind.EXACT, where
            assert match.interaction is not None, where
            assert match.interaction.response.status == interaction.response.status, where
            assert match.interaction.response.body == interaction.response.body, where
            answers.append(match.interaction)
        return answers
    finally:
        store.close()


def replay_each_file(
    paths: Iterable[Path], read: Callable[[Path], Sequence[Interaction]], tmp_path: Path
) -> int:
    """replay_in_process for each file's interactions (as `read` gives them), each file in a
    Store of its own under `tmp_path`; how many interactions were replayed in all. A file
    with no interactions has nothing to replay and is passed over."""
    total = 0
    for n, path in enumerate(paths):
        recorded = read(path)
        if recorded:
            total += len(replay_in_process(tmp_path / f"{n}.db", recorded))
    return total


def check_file_imports(path: Path | None, reader: Reader, source_format: str) -> None:
    """The corpus file `path` is claimed by `reader`, detect() picks `reader`, and it yields at
    least one item, all sane (assert_sane, with `source_format`)."""
    require_corpus()
    assert path is not None
    assert reader.sniff(path)
    assert detect(path) is reader
    items = list(reader.read(path))
    assert items, "a file yields at least one interaction or a skipped entry"
    assert_sane(items, path, source_format)


def check_folder_replays(
    fmt: str, folder: str, read: Callable[[Path], Sequence[Interaction]], tmp_path: Path
) -> None:
    """replay_each_file over every file below the corpus folder `fmt`/`folder` (as `read`
    gives its interactions), printing the count, which must not be zero."""
    root = require_corpus() / fmt / folder
    files = sorted(p for p in root.rglob("*") if p.is_file())
    total = replay_each_file(files, read, tmp_path)
    print(f"{fmt}/{folder}: {total} interactions replayed")
    assert total
