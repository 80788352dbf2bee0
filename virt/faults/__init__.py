"""Fault plans: which requests of a session fail on purpose, and how (issue #19, docs/faults.md)."""

from virt.faults.plan import (
    Action,
    Attempts,
    Chosen,
    Kind,
    Plan,
    Rule,
    configured_plan,
    parse_plan,
    parse_rule,
)
from virt.faults.report import FaultLog

__all__ = [
    "Action",
    "Attempts",
    "Chosen",
    "FaultLog",
    "Kind",
    "Plan",
    "Rule",
    "configured_plan",
    "parse_plan",
    "parse_rule",
]
