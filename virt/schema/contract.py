"""Contract: the request body a route's recordings vouch for, and the answer to one that breaks it.

Where the successful recordings of a route sent at least MIN_VALIDATION_SAMPLES different JSON
bodies, their inferred schema's top-level structure is the route's request contract. A body
that breaks it gets the route's own recorded client error (its 422 or 400), else a 422 naming
the field and the rule, never the value sent.
"""

from __future__ import annotations

from typing import Any

import orjson

from virt.model import Request
from virt.normalize.canonical import NOT_JSON
from virt.schema import leaves
from virt.schema.book import RouteProfile
from virt.schema.infer import structural
from virt.schema.reply import Answer, headers_for
from virt.schema.validate import violations

MIN_VALIDATION_SAMPLES = 2
"""Different successful recorded bodies a route needs before its request schema is enforced:
one sample, however often sent, makes every field look required."""


def refusal(request: Request, profile: RouteProfile) -> Answer | None:
    """The route's own client-error answer (or a 422) when the request body breaks the
    structure of every recorded request body; None when it keeps it."""
    schema = profile.request_schema
    if schema is None or profile.request_samples < MIN_VALIDATION_SAMPLES:
        return None
    sent = leaves.body_data(request)
    if sent is NOT_JSON:
        return None
    found = violations(top_level(structural(schema)), sent)
    if not found:
        return None
    shown = [{"pointer": v.pointer, "rule": v.rule, "message": v.message} for v in found]
    explain = {"route": profile.name, "violations": shown}
    recorded = profile.errors((422, 400))
    if recorded is not None:
        resp = recorded.interaction.response
        return Answer(
            resp.status,
            headers_for(recorded, resp.body),
            resp.body,
            "template",
            recorded.id,
            {**explain, "status": resp.status},
        )
    body = orjson.dumps(
        {
            "error": "the request body does not match what the recordings of this route sent",
            "violations": shown,
        }
    )
    headers = (("Content-Type", "application/json"),)
    return Answer(422, headers, body, "schema", None, {**explain, "status": 422})


def top_level(schema: dict[str, Any]) -> dict[str, Any]:
    """The contract a few recorded bodies can vouch for: the top-level fields every one of
    them sent, and the JSON type of each top-level field. Deeper, a handful of samples says
    little (free-form objects, optional nested parts), and a refusal there would be a wrong
    answer."""
    out = {k: v for k, v in schema.items() if k in ("type", "required", "$schema")}
    properties = schema.get("properties")
    if isinstance(properties, dict):
        out["properties"] = {
            name: {k: v for k, v in sub.items() if k == "type"} if isinstance(sub, dict) else sub
            for name, sub in properties.items()
        }
    return out
