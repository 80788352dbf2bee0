"""Reports: JUnit XML that a JUnit schema accepts in every outcome, and exit codes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
import xmlschema

from virt.drift.check import Report, RouteResult
from virt.drift.finding import Finding, Kind, Severity
from virt.drift.report import junit, markdown

JUNIT_XSD = Path(__file__).parents[1] / "data" / "junit" / "junit.xsd"


def route(name: str, *kinds: Kind, error: bool = False, skipped: bool = False) -> RouteResult:
    r = RouteResult(name, planned=[] if skipped else [f"GET {name}"])
    r.findings = [Finding(k, "$.a", f"{k} <&> at $.a", '"x"', None) for k in kinds]
    if error:
        r.errors = [(f"GET {name}", "ConnectError: refused")]
    if skipped:
        r.skipped = [(f"GET {name}", "needs a credential nobody supplied: header X (VIRT_DRIFT_X)")]
    return r


REPORT = Report(
    [
        route("GET https://api.test/ok"),
        route("GET https://api.test/added", Kind.FIELD_ADDED),
        route("GET https://api.test/gone", Kind.FIELD_REMOVED, Kind.FIELD_ADDED),
        route("GET https://api.test/down", error=True),
        route("GET https://api.test/me", skipped=True),
    ]
)


@pytest.mark.parametrize("fail_on", list(Severity))
def test_junit_passes_the_schema_with_every_outcome(fail_on: Severity) -> None:
    xml = junit(REPORT, fail_on)
    xmlschema.XMLSchema(JUNIT_XSD).validate(xml)
    suite = ET.fromstring(xml).find("testsuite")
    assert suite is not None
    failures = 2 if fail_on is Severity.COMPATIBLE else 1
    assert suite.attrib == {
        "name": "virt drift",
        "tests": "5",
        "failures": str(failures),
        "errors": "1",
        "skipped": "1",
    }


def test_exit_codes_follow_the_worst_drift_and_fail_on() -> None:
    assert Report([route("a")]).exit_code() == 0
    assert Report([route("a", Kind.ENUM_VALUE_NEW)]).exit_code() == 1
    assert Report([route("a", Kind.ENUM_VALUE_NEW)]).exit_code(Severity.BREAKING) == 0
    assert Report([route("a", Kind.STATUS_CHANGED)]).exit_code(Severity.BREAKING) == 2
    assert Report([route("a", error=True)]).exit_code(Severity.BREAKING) == 2


def test_markdown_cells_keep_pipes_inside_their_cell() -> None:
    report = Report([route("GET https://api.test/a|b", Kind.FIELD_ADDED)])
    (row,) = [line for line in markdown(report).splitlines() if line.startswith("| GET")]
    assert row.count(" | ") == 5
    assert "a\\|b" in row
