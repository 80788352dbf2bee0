"""Scan: where an interaction still holds secrets, as `virt scan` reports them.

A finding is anything the redactor would replace, so a scan of redacted recordings finds
nothing, and a scan of raw ones finds exactly what redaction would remove.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote_plus

import orjson

from virt import encoding
from virt.model import Headers, Interaction
from virt.normalize.fields import json_path
from virt.redact import Redactor, RedactRules, UnredactableBody
from virt.redact.detect import PLACEHOLDER, REDACTED_JWT, is_secret_header, shape_spans
from virt.redact.text import still_coded

_SCAN_KEY = b"virt-scan-only-placeholders-are-thrown-away"
_ANY_PLACEHOLDER = re.compile(
    f"{REDACTED_JWT.pattern}|{PLACEHOLDER.pattern}|%3Csecret%3A[0-9a-f]{{8}}%3E"
)
"""What redaction writes: a placeholder, a JWT without its signature, a placeholder in a URL."""


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
    try:
        redacted = redactor.request(req, refuse=True)
    except UnredactableBody as e:
        out.append(Finding("request.body", "unredactable body", str(e)))
        redacted = redactor.request(req)
    out += _text("request.path", req.path, redacted.path)
    out += _headers("request", req.headers, redacted.headers)
    out += _pairs("request.query", req.query, redacted.query)
    out += _body("request.body", _plain(req.body, req.headers, req.encoding), redacted.body)
    try:
        clean = redactor.response(resp)
    except UnredactableBody as e:
        out.append(Finding("response.body", "unredactable body", str(e)))
        headers = redactor.response(replace(resp, body=b"")).headers
        clean = replace(resp, headers=headers)  # its body is the finding above
    out += _headers("response", resp.headers, clean.headers)
    out += _body("response.body", _plain(resp.body, resp.headers, resp.encoding), clean.body)
    return out


def _plain(body: bytes, headers: Headers, decoded: str | None) -> bytes:
    """`body` as redaction reads it: decoded when it is still in a coding virt can decode."""
    coded = still_coded(headers, decoded)
    if coded is None:
        return body
    try:
        plain, coding = encoding.decode_body(body, coded)
    except encoding.BodyTooLarge:
        return body  # redaction refuses it: reported as such
    return plain if coding is not None else body


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
    old = before.split("&")
    new = after.split("&")
    if len(old) != len(new):
        return _text(where, before, after)
    out = []
    for a, b in zip(old, new, strict=True):
        if a != b:
            name, eq, value = a.partition("=")
            name, value = (unquote_plus(name), unquote_plus(value)) if eq else ("", a)
            place = f"{where}.{name}" if eq else where
            out.append(Finding(place, _kind(value, "secret field"), mask(value)))
    return out


def _text(where: str, before: str, after: str) -> list[Finding]:
    """One finding per placeholder that redaction put in `after` where `before` held a secret
    (a path, a body read as text): the secret is what `before` holds up to the text that follows
    the placeholder."""
    if before == after:
        return []
    out = []
    i = j = 0  # aligned positions in before and after
    for m in _ANY_PLACEHOLDER.finditer(after):
        if m.start() < j:
            continue
        i += m.start() - j  # the text in between is the same on both sides
        nxt = _ANY_PLACEHOLDER.search(after, m.end())
        tail = after[m.end() : nxt.start() if nxt else len(after)][:32]
        end = before.find(tail, i + 1) if tail else len(before)
        end = len(before) if end < 0 else end
        secret = before[i:end]
        if secret == m.group(0):
            i, j = end, m.end()
            continue  # already a placeholder
        out.append(Finding(where, _kind(secret, "secret"), mask(secret)))
        i, j = end, m.end()
    return out or [Finding(where, "secret", "(changed by redaction)")]


def _body(where: str, before: bytes, after: bytes) -> list[Finding]:
    if before == after:
        return []
    try:
        old, new = orjson.loads(before), orjson.loads(after)
    except orjson.JSONDecodeError:
        pass
    else:
        out = _json_diff(where, old, new)
        if out:
            return out
    text = before.decode("utf-8", "surrogateescape")
    changed = after.decode("utf-8", "surrogateescape")
    if "=" in text and "{" not in text[:1] and "\n" not in text.strip():
        found = _pairs(where, text, changed)
        if found:
            return found
    return _text(where, text, changed)


def _json_diff(where: str, old: Any, new: Any) -> list[Finding]:
    """The members whose values differ between two JSON documents, in document order (a walk
    with its own stack: any depth)."""
    out: list[Finding] = []
    stack: list[tuple[str, Any, Any]] = [("$", old, new)]
    while stack:
        path, a, b = stack.pop()
        if isinstance(a, dict) and isinstance(b, dict):
            stack.extend((json_path(path, k), a[k], b.get(k)) for k in reversed(list(a)))
        elif isinstance(a, list) and isinstance(b, list):
            pairs = list(zip(a, b, strict=False))
            stack.extend(
                (json_path(path, i), x, y) for i, (x, y) in reversed(list(enumerate(pairs)))
            )
        elif a != b:
            text = a if isinstance(a, str) else orjson.dumps(a).decode()
            out.append(Finding(f"{where} {path}", _kind(text, "secret field"), mask(text)))
    return out


def _first(old: str, new: str) -> str:
    """The part of `old` that redaction replaced first."""
    i = 0
    while i < min(len(old), len(new)) and old[i] == new[i]:
        i += 1
    rest = old[i:]
    m = PLACEHOLDER.search(new, i)
    tail = len(new) - m.end() if m else 0
    return rest[: len(rest) - tail] if tail and len(rest) > tail else rest
