"""Drift against a contract: recordings checked against an OpenAPI document, without any
network, for teams that own the spec. A recording the document does not allow (its route,
its status, a field of its body) is breaking drift between the two."""

from __future__ import annotations

from virt.drift.check import NOT_JSON, Report, RouteResult, Selection, json_body, plan
from virt.drift.finding import Finding, Kind, example
from virt.model import Interaction
from virt.schema.openapi import OpenApi
from virt.schema.validate import violations
from virt.store import Store


def against(store: Store, document: OpenApi, selection: Selection) -> Report:
    """Each selected recording's route, status and JSON body checked against `document`."""
    results = []
    for name, recorded in plan(store, selection).items():
        result = RouteResult(name)
        findings: dict[tuple[Kind, str, str], Finding] = {}
        for interaction in recorded:
            result.planned.append(f"{interaction.request.method} {interaction.request.url}")
            for f in _check(interaction, document):
                if not selection.ignored(f.where):
                    findings.setdefault((f.kind, f.where, f.message), f)
        result.findings = list(findings.values())
        results.append(result)
    return Report(results)


def _check(interaction: Interaction, document: OpenApi) -> list[Finding]:
    r, status = interaction.request, interaction.response.status
    op = document.find(r.method, r.host, r.path)
    if op is None:
        return [
            Finding(
                Kind.UNDOCUMENTED_ROUTE,
                "route",
                f"{document.source} has no operation for {r.method} {r.path}",
                example(f"{r.method} {r.path}"),
                None,
            )
        ]
    answer = op.responses.get(status) or op.default
    if answer is None:
        documented = ", ".join(str(s) for s in sorted(op.responses)) or "none"
        return [
            Finding(
                Kind.UNDOCUMENTED_STATUS,
                "status",
                f"status {status} is not documented for {op.method} {op.template} "
                f"(documented: {documented})",
                example(status),
                None,
            )
        ]
    value = json_body(interaction.response)
    if answer.schema is None or value is NOT_JSON:
        return []
    return [
        Finding(
            Kind.CONTRACT_VIOLATION,
            "$" + v.pointer.replace("/", "."),
            f"{v.message} ({v.rule})",
            None,
            None,
        )
        for v in violations(answer.schema, value)
    ]
