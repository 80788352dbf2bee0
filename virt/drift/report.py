"""A drift report for people (a rich table) and for CI: JSON, Markdown, JUnit XML."""

from __future__ import annotations

import enum
import xml.etree.ElementTree as ET

import orjson
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from virt.drift.check import Report, RouteResult
from virt.drift.finding import Severity


class Format(enum.StrEnum):
    JSON = "json"
    MARKDOWN = "markdown"
    JUNIT = "junit"


def table(report: Report, console: Console) -> None:
    """One row per finding, skipped request and error; a line when nothing drifted."""
    t = Table(title="virt drift" + (" (dry run)" if report.dry_run else ""), show_lines=False)
    for column in ("route", "severity", "where", "change", "recorded", "live"):
        t.add_column(column, overflow="fold")
    for route in report.routes:
        name = escape(route.name)
        if report.dry_run:
            for target in route.planned:
                t.add_row(name, "", "", escape(f"would send {target}"), "", "")
        for f in route.findings:
            style = "red" if f.severity is Severity.BREAKING else "yellow"
            t.add_row(
                name,
                f"[{style}]{f.severity}[/]",
                escape(f.where),
                escape(f.message),
                escape(f.recorded or ""),
                escape(f.live or ""),
            )
        # messages quote the recordings and the config ("[drift.credentials]"): never markup
        for target, why in route.errors:
            t.add_row(name, "[red]error[/]", "", escape(f"{target}: {why}"), "", "")
        for target, why in route.skipped:
            t.add_row(name, "skipped", "", escape(f"{target}: {why}"), "", "")
    console.print(t)
    sent = sum(r.sent for r in report.routes)
    console.print(
        f"{len(report.routes)} routes, {sent} requests sent, worst: {report.worst or 'no drift'}"
    )


def render(report: Report, fmt: Format, fail_on: Severity = Severity.COMPATIBLE) -> str:
    if fmt is Format.JSON:
        return orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n"
    if fmt is Format.MARKDOWN:
        return markdown(report)
    return junit(report, fail_on)


def _cell(text: str | None) -> str:
    return (text or "").replace("\\", "\\\\").replace("|", "\\|").replace("\n", " ")


def markdown(report: Report) -> str:
    """A Markdown table, one row per finding, error and skipped request."""
    lines = [
        "# virt drift" + (" (dry run)" if report.dry_run else ""),
        "",
        f"Worst: **{report.worst or 'no drift'}**",
        "",
        "| Route | Severity | Where | Change | Recorded | Live |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for route in report.routes:
        name = _cell(route.name)
        for f in route.findings:
            lines.append(
                f"| {name} | {f.severity} | `{_cell(f.where)}` | {_cell(f.message)} "
                f"| {_cell(f.recorded)} | {_cell(f.live)} |"
            )
        for target, why in route.errors:
            lines.append(f"| {name} | error | | {_cell(target)}: {_cell(why)} | | |")
        for target, why in route.skipped:
            lines.append(f"| {name} | skipped | | {_cell(target)}: {_cell(why)} | | |")
    return "\n".join(lines) + "\n"


def _details(route: RouteResult) -> str:
    out = []
    for f in route.findings:
        out.append(f"[{f.severity}] {f.where}: {f.message}")
        out.append(f"    recorded: {f.recorded}")
        out.append(f"    live:     {f.live}")
    out += [f"[error] {t}: {why}" for t, why in route.errors]
    return "\n".join(out)


def junit(report: Report, fail_on: Severity = Severity.COMPATIBLE) -> str:
    """JUnit XML: one test case per route; breaking drift (and compatible drift under
    fail_on=compatible) is a failure, a request that could not be sent an error, a route
    whose every request was skipped is skipped."""
    suite = ET.Element("testsuite", name="virt drift")
    failures = errors = skipped = 0
    for route in report.routes:
        case = ET.SubElement(suite, "testcase", name=route.name, classname="virt.drift")
        worst = route.worst
        text = _details(route)
        if route.errors:
            errors += 1
            e = ET.SubElement(case, "error", message=f"{len(route.errors)} requests failed")
            e.set("type", "unreachable")
            e.text = text
        elif worst is Severity.BREAKING or (
            worst is Severity.COMPATIBLE and fail_on is Severity.COMPATIBLE
        ):
            failures += 1
            first = route.findings[0]
            e = ET.SubElement(case, "failure", message=f"{worst} drift: {first.message}")
            e.set("type", str(worst))
            e.text = text
        elif not route.planned and route.skipped:
            skipped += 1
            ET.SubElement(case, "skipped", message=route.skipped[0][1])
        elif text:
            ET.SubElement(case, "system-out").text = text
    suite.set("tests", str(len(report.routes)))
    suite.set("failures", str(failures))
    suite.set("errors", str(errors))
    suite.set("skipped", str(skipped))
    root = ET.Element("testsuites", name="virt drift")
    root.append(suite)
    for name in ("tests", "failures", "errors", "skipped"):
        root.set(name, suite.get(name, "0"))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, "unicode") + "\n"
