"""Scan: where an interaction still holds secrets, as `virt scan` reports them.

A finding is anything the redactor would replace, so a scan of redacted recordings finds
nothing, and a scan of raw ones finds exactly what redaction would remove.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson

from virt.model import Headers, Interaction
from virt.normalize.fields import json_path
from virt.redact import Redactor, RedactRules
from virt.redact.detect import PLACEHOLDER, is_secret_header, shape_spans

_SCAN_KEY = b"virt-scan-only-placeholders-are-thrown-away"


@dataclass(frozen=True, slots=True)
class Finding:
    """One secret: where it is, what kind, and a masked excerpt (never the secret itself)."""

    where: str
    kind: str
    excerpt: str

    def as_dict(self) -> dict[str, str]:
        return {"where": self.where, "kind": self.kind, "excerpt": self.excerpt}


def mask(secret: str) -> str:
    """The first four characters and the length: enough to recognise, not to use."""
    return f"{secret[:4]}… ({len(secret)} chars)"


def scan(interaction: Interaction, rules: RedactRules | None = None) -> list[Finding]:
    """The secrets left in `interaction`, in a stable order."""
    redactor = Redactor(_SCAN_KEY, rules or RedactRules())
    req, resp = interaction.request, interaction.response
    out: list[Finding] = []
    out += _headers("request", req.headers, redactor.request(req).headers)
    redacted = redactor.request(req)
    out += _pairs("request.query", req.query, redacted.query)
    out += _body("request.body", req.body, redacted.body)
    clean = redactor.response(resp)
    out += _headers("response", resp.headers, clean.headers)
    out += _body("response.body", resp.body, clean.body)
    return out


def _kind(value: str, default: str) -> str:
    spans = shape_spans(value)
    return spans[0][2] if spans else default


def _headers(side: str, before: Headers, after: Headers) -> list[Finding]:
    out = []
    for (name, old), (_, new) in zip(before, after, strict=True):
        if old != new:
            kind = "secret header" if is_secret_header(name) else "header value"
            out.append(Finding(f"{side}.headers.{name}", _kind(old, kind), mask(_first(old, new))))
    return out


def _pairs(where: str, before: str, after: str) -> list[Finding]:
    if before == after:
        return []
    old = parse_qsl(before, keep_blank_values=True)
    new = parse_qsl(after, keep_blank_values=True)
    return [
        Finding(f"{where}.{k}", _kind(v, "secret field"), mask(v))
        for (k, v), (_, w) in zip(old, new, strict=False)
        if v != w
    ]


def _body(where: str, before: bytes, after: bytes) -> list[Finding]:
    if before == after:
        return []
    try:
        old, new = orjson.loads(before), orjson.loads(after)
    except orjson.JSONDecodeError:
        pass
    else:
        out: list[Finding] = []
        _json_diff(where, "$", old, new, out)
        if out:
            return out
    text = before.decode("utf-8", "replace")
    if ("=" in text and "&" in text) or text.count("=") == 1:
        found = _pairs(where, text, after.decode("utf-8", "replace"))
        if found:
            return found
    return [Finding(where, kind, mask(text[s:e])) for s, e, kind in shape_spans(text)] or [
        Finding(where, "secret", "(body changed by redaction)")
    ]


def _json_diff(where: str, path: str, old: Any, new: Any, out: list[Finding]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for k in old:
            _json_diff(where, json_path(path, k), old[k], new.get(k), out)
    elif isinstance(old, list) and isinstance(new, list):
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            _json_diff(where, json_path(path, i), a, b, out)
    elif old != new:
        text = old if isinstance(old, str) else orjson.dumps(old).decode()
        out.append(Finding(f"{where} {path}", _kind(text, "secret field"), mask(text)))


def _first(old: str, new: str) -> str:
    """The part of `old` that redaction replaced first."""
    i = 0
    while i < min(len(old), len(new)) and old[i] == new[i]:
        i += 1
    rest = old[i:]
    m = PLACEHOLDER.search(new, i)
    tail = len(new) - m.end() if m else 0
    return rest[: len(rest) - tail] if tail and len(rest) > tail else rest
