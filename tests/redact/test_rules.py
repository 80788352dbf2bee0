"""[redact] rules of virt.toml: extra headers, fields, JSONPaths and patterns, checked by name."""

from __future__ import annotations

import orjson
import pytest

from virt.errors import ConfigError
from virt.model import Interaction, Request, Response
from virt.redact import Redactor, RedactRules

KEY = b"k" * 32


def test_rules_add_headers_fields_json_paths_and_patterns() -> None:
    rules = RedactRules.from_dict(
        {
            "headers": ["X-Tenant-Secret"],
            "fields": ["pin"],
            "patterns": [r"ACME-[0-9]{6}"],
            "json": ["$.card.number", "$.card.cvc"],
        }
    )
    r = Redactor(KEY, rules)
    i = Interaction(
        Request(
            "POST",
            "https",
            "h",
            443,
            "/p",
            "",
            (("X-Tenant-Secret", "abc"), ("Content-Type", "application/json")),
            b'{"pin": 1234, "note": "ref ACME-123456", "card": {"number": "4242424242424242", '
            b'"cvc": 123, "brand": "visa"}}',
        ),
        Response(200),
    )
    out = r.interaction(i)
    assert dict(out.request.headers)["X-Tenant-Secret"].startswith("<secret:")
    body = orjson.loads(out.request.body)
    assert body["pin"].startswith("<secret:") and body["note"].startswith("ref <secret:")
    assert body["card"]["number"].startswith("<secret:")
    assert body["card"]["cvc"].startswith("<secret:") and body["card"]["brand"] == "visa"
    assert b"4242424242424242" not in out.request.body


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"headers": "X-A"}, "redact.headers: expected an array of strings"),
        ({"patterns": ["("]}, "redact.patterns[0]"),
        ({"header": ["x"]}, "unknown key 'header'"),
        ({"json": ["$[["]}, "redact.json[0]: bad JSONPath"),
    ],
)
def test_bad_redaction_rules_name_the_key(data: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as e:
        RedactRules.from_dict(data)
    assert message in str(e.value)
