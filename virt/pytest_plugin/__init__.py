"""virt for pytest: replay (or record) what a test sends to the services it depends on.

Loaded by pytest through the `pytest11` entry point. Public surface:

- marker `@pytest.mark.virt(mode=None, db=None, strict=None)` on a test, class or module
  (`pytestmark`): the test runs against virt;
- fixture `virt` (a `VirtTest`): the same, plus the doors, the session header, the journal and
  the misses of this test, for finer control;
- options `--virt-mode=replay|record|once|passthrough|none`, `--virt-db PATH`, `--virt-strict`;
- `[tool.virt]` in pyproject.toml: mode, db, recordings, strict, confdir, no_proxy, args.

One virt process per pytest-xdist worker (per database), started on first use and stopped at
the end of the run; POST /__virt/reset before each test restarts every sequence and forgets
what earlier tests created, so tests stay independent and workers never share state.
"""

from __future__ import annotations

import os
from collections.abc import Generator

import pytest

from virt.errors import VirtError
from virt.pytest_plugin.environ import apply, session_name
from virt.pytest_plugin.fixture import VirtTest
from virt.pytest_plugin.report import miss_report
from virt.pytest_plugin.server import Pool
from virt.pytest_plugin.settings import Mode, ProjectSettings, for_test

__all__ = ["VirtTest"]

_POOL = pytest.StashKey[Pool]()
_PROJECT = pytest.StashKey[ProjectSettings]()
_TEST = pytest.StashKey[VirtTest]()


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("virt", "virt: replay recorded HTTP(S) dependencies")
    group.addoption(
        "--virt-mode",
        choices=[m.value for m in Mode],
        default=None,
        help="replay (default): answers from the recordings only; record: record everything; "
        "once: record what is missing, replay the rest; passthrough: the real services through "
        "virt, nothing kept; none: the plugin is off.",
    )
    group.addoption(
        "--virt-db",
        default=None,
        metavar="PATH",
        help="One recordings database for every test (default: recordings/<test module>.db).",
    )
    group.addoption(
        "--virt-strict",
        action="store_true",
        default=False,
        help="A request no recording answers is a miss even on a known route (virt serve "
        "--no-fallback).",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "virt(mode=None, db=None, strict=None): answer the test's HTTP(S) calls from virt's "
        "recordings (see the virt fixture)",
    )
    try:
        config.stash[_PROJECT] = ProjectSettings.read(config.rootpath)
    except VirtError as e:
        raise pytest.UsageError(f"virt: {e}{': ' + e.hint if e.hint else ''}") from e
    # the environment as pytest started, before any test set a proxy: virt itself runs in it
    config.stash[_POOL] = Pool(dict(os.environ))


def pytest_unconfigure(config: pytest.Config) -> None:
    pool = config.stash.get(_POOL, None)
    if pool is not None:
        pool.close()


def pytest_report_header(config: pytest.Config) -> str | None:
    project = config.stash.get(_PROJECT, None)
    mode = config.getoption("--virt-mode") or (project.mode if project else None)
    if project is None or (project.source == "defaults" and not config.getoption("--virt-mode")):
        return None
    return f"virt: mode {mode}, recordings in {project.recordings} (settings: {project.source})"


@pytest.fixture
def virt(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> VirtTest:
    """This test's virt: its doors, session header, journal and misses.

    The proxy and CA variables are set for the test and restored after it. A request virt
    could not answer fails the test with the near-miss report, unless the test takes it with
    `virt.take_misses()`.
    """
    config = request.config
    marker = request.node.get_closest_marker("virt")
    try:
        settings = for_test(
            config.stash[_PROJECT],
            request.path.stem,
            option_mode=config.getoption("--virt-mode"),
            option_db=_option_path(config, "--virt-db"),
            option_strict=bool(config.getoption("--virt-strict")),
            marker=dict(marker.kwargs) if marker else {},
        )
        session = session_name(request.node.nodeid)
        if settings.mode is Mode.NONE:
            return VirtTest(settings, None, session, {})
        pool = config.stash[_POOL]
        ca = pool.ca(settings.confdir)
        server = pool.get(settings)
        server.reset()
        test = VirtTest(
            settings,
            server,
            session,
            {},
            after=server.last_seq(),
            missed_before=server.misses_served(),
        )
    except VirtError as e:
        pytest.fail(f"virt: {e}{chr(10) + e.hint if e.hint else ''}", pytrace=False)
    test.env.update(apply(monkeypatch, server.proxy, ca, config.stash[_PROJECT].no_proxy))
    request.node.stash[_TEST] = test
    return test


def _option_path(config: pytest.Config, name: str) -> str | None:
    """A path option as given, from where pytest was started (a test may chdir)."""
    value = config.getoption(name)
    return str(config.invocation_params.dir / value) if value else None


@pytest.fixture(autouse=True)
def _virt_marker(request: pytest.FixtureRequest) -> None:
    """A test marked virt gets the virt fixture without asking for it."""
    if request.node.get_closest_marker("virt") is not None:
        request.getfixturevalue("virt")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    test = item.stash.get(_TEST, None)
    if test is None or report.when != "call" or report.skipped or hasattr(report, "wasxfail"):
        return report
    try:
        misses, unlisted = test.misses(), test.unlisted_misses()
        text = ""
        if (misses or unlisted) and test.server is not None:
            text = miss_report(misses, str(test.db), test.url, test.server, unlisted)
    except VirtError as e:
        text = f"virt: {e}"
    if not text:
        return report
    if report.failed:
        # the client's own error (a 599 it did not expect) follows the cause
        text += "\n\nThe test's own failure, most likely a consequence:\n\n" + str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = text
    return report
