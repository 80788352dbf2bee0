"""The parts of a message redacted one by one: a URL path, headers, a query or form, a text,
and bodies of each kind (JSON, XML, multipart, server-sent events, bodies still coded).

PartRedactor holds the key and the rules, and knows each kind of part; virt.redact.redactor's
Redactor puts whole requests and responses through it and remembers what it redacted lately.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, unquote_plus

import orjson

from virt import encoding
from virt.model import Headers, header
from virt.redact.claims import keyed_text
from virt.redact.detect import (
    JWT,
    PLACEHOLDER,
    header_spans,
    is_credential_value,
    is_placeholder,
    is_secret_field,
    normal_name,
    shape_spans,
)
from virt.redact.rules import RedactRules
from virt.redact.text import (
    MAX_DEPTH,
    UnredactableBody,
    json_depth,
    json_members,
    readable_prefix,
    still_coded,
)

_TEXTUAL = ("json", "xml", "form", "text/", "javascript", "graphql", "yaml", "csv", "html")
"""Content types whose bodies are text even when a byte in them is not UTF-8 (latin-1 forms)."""
_XML_ELEMENT = re.compile(
    r"<(?P<tag>(?:[\w.-]+:)?[\w.-]+)(?:\s[^<>]*)?>(?P<value>[^<]+)</(?P=tag)\s*>"
)
_XML_ATTRIBUTE = re.compile(
    r"\s(?P<attr>(?:[\w.-]+:)?[\w.-]+)\s*=\s*(?P<q>[\"'])(?P<value>[^\"'<>]*)(?P=q)"
)
_MULTIPART_PART = re.compile(
    r"(?P<head>Content-Disposition:[^\r\n]*?\bname=\"(?P<name>[^\"]*)\"[^\r\n]*\r?\n"
    r"(?:[^\r\n]+\r?\n)*\r?\n)(?P<value>.*?)(?=\r?\n--)",
    re.IGNORECASE | re.DOTALL,
)


@dataclass
class PartRedactor:
    """Replaces the secrets of one part of a message with keyed placeholders."""

    key: bytes = field(repr=False)  # with the key, a placeholder can be tested against a guess
    rules: RedactRules = field(default_factory=RedactRules)
    _rule_names: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._rule_names = frozenset(normal_name(f) for f in self.rules.fields)

    def placeholder(self, secret: str) -> str:
        digest = hmac.new(self.key, secret.encode("utf-8", "surrogateescape"), hashlib.sha256)
        return f"<secret:{digest.hexdigest()[:8]}>"

    def jwt_placeholder(self, token: str) -> str:
        """The placeholder of a JWT: keyed on its claims without the time claims."""
        return self.placeholder(keyed_text(token))

    def _path(self, path: str) -> str:
        """A URL path with secret shapes (and rule patterns) replaced, percent-encoded:
        /v1/keys/%3Csecret%3A3f9a1c02%3E. A request that carries the secret redacts alike."""
        new = self.text(path, keep_claims=False)
        if new == path:
            return path
        out, pos = [], 0
        for m in PLACEHOLDER.finditer(new):
            out += [new[pos : m.start()], quote(m.group(0), safe="")]
            pos = m.end()
        return "".join(out) + new[pos:]

    def _coded(
        self, body: bytes, headers: Headers, decoded: str | None, side: str
    ) -> tuple[bytes, str | None]:
        """(body to redact, its coding): a body still in a Content-Encoding that capture could
        not decode is decoded here when it can be; when it cannot, what a lenient client would
        read of it must hold no secret, or UnredactableBody says why it cannot be kept (unless
        `side` is empty: a request only matched, never written)."""
        coded = still_coded(headers, decoded)
        if coded is None or not body:
            return body, decoded
        try:
            plain, coding = encoding.decode_body(body, coded)
        except encoding.BodyTooLarge as e:
            if not side:
                return body, decoded
            raise UnredactableBody(
                f"cannot redact the {side} body: it cannot be looked into: {e}",
                hint="record it with --no-redact if it must be kept",
            ) from None
        if coding is not None:
            return plain, coding
        prefix = readable_prefix(body, coded) if side else b""
        if prefix and self._body(prefix, headers, keep_claims=False) != prefix:
            raise UnredactableBody(
                f"cannot redact the {side} body: it is not valid {coded!r} and the part of it "
                "that decodes holds secrets",
                hint="fix the upstream's Content-Encoding, or record it with --no-redact",
            )
        return body, decoded

    def _headers(self, headers: Headers, *, keep_claims: bool) -> Headers:
        out = []
        for name, value in headers:
            spans = header_spans(name, value)
            if not spans and name.lower() in self.rules.headers:
                spans = [(0, len(value))] if value else []
            for start, end in reversed(spans):
                secret = value[start:end]
                if not is_placeholder(secret):
                    value = value[:start] + self._secret(secret, keep_claims=False) + value[end:]
            out.append((name, self.text(value, keep_claims=keep_claims)))
        return tuple(out)

    def _secret(self, value: str, *, keep_claims: bool) -> str:
        """The replacement of a whole secret value."""
        if JWT.fullmatch(value):
            return self._jwt(value, keep_claims=keep_claims)
        return self.placeholder(value)

    def _jwt(self, token: str, *, keep_claims: bool) -> str:
        mark = self.jwt_placeholder(token)
        if not keep_claims:
            return mark
        head, payload = token.split(".")[:2]
        return f"{head}.{payload}.{mark}"

    def text(self, text: str, *, keep_claims: bool = False) -> str:
        """`text` with every well-known secret shape (and rule pattern) replaced."""
        spans = [(s, e, k) for s, e, k in shape_spans(text)]
        for pattern in self.rules.patterns:
            spans.extend(
                (m.start(), m.end(), "rule") for m in pattern.finditer(text) if m.end() > m.start()
            )
        if not spans:
            return text
        spans.sort()
        out, pos = [], 0
        for start, end, kind in spans:
            if start < pos:
                continue
            secret = text[start:end]
            if is_placeholder(secret):
                continue
            out.append(text[pos:start])
            if kind == "jwt":
                out.append(self._jwt(secret, keep_claims=keep_claims))
            else:
                out.append(self.placeholder(secret))
            pos = end
        out.append(text[pos:])
        return "".join(out)

    def _pairs(self, encoded: str, *, keep_claims: bool) -> str:
        """A query string or form body with secret parameters' values replaced."""
        if not encoded:
            return encoded
        parts = encoded.split("&")
        changed = False
        for i, part in enumerate(parts):
            name_raw, eq, value_raw = part.partition("=")
            if not eq:  # a bare value (?sk_live_...): only its shape can tell
                name_raw, value_raw = "", part
            name = _unquote(name_raw)
            value = _unquote(value_raw)
            if eq and self._field(name, value, form=True):
                new = self._secret(value, keep_claims=False)
            else:
                new = self.text(value, keep_claims=keep_claims)
            if new != value:
                quoted = quote(new, safe="", errors="surrogateescape")
                parts[i] = f"{name_raw}={quoted}" if eq else quoted
                changed = True
        return "&".join(parts) if changed else encoded

    def _field(self, name: str, value: str, *, form: bool) -> bool:
        """Whether the value of field `name` is a secret to replace: named like one (built in,
        or in [redact] fields), shaped like a credential, not already a placeholder."""
        if not value.strip() or is_placeholder(value.strip()):
            return False
        if normal_name(name) in self._rule_names:
            return True  # named in virt.toml: whatever it looks like
        return is_secret_field(name, form=form) and is_credential_value(value)

    def _body(self, body: bytes, headers: Headers, *, keep_claims: bool) -> bytes:
        if not body:
            return body
        ctype = (header(headers, "content-type") or "").lower()
        if "multipart/" in ctype:
            # file parts may be binary: carried through byte for byte
            text = body.decode("utf-8", "surrogateescape")
            return self._multipart(text, keep_claims=keep_claims).encode("utf-8", "surrogateescape")
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            if not (any(t in ctype for t in _TEXTUAL) or (not ctype and b"\0" not in body)):
                return body  # binary: no text secrets to find
            text = body.decode("utf-8", "surrogateescape")  # each odd byte kept as it was
        if "x-www-form-urlencoded" in ctype:
            return self._pairs(text, keep_claims=keep_claims).encode("utf-8", "surrogateescape")
        if "json" in ctype or text.lstrip()[:1] in ("{", "["):
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:  # not JSON, not UTF-8, cut short: members as text
                text = json_members(text, self._member(keep_claims))
            else:
                if json_depth(data) <= MAX_DEPTH:
                    return self._json(body, data, keep_claims=keep_claims)
                text = json_members(text, self._member(keep_claims))
        elif "event-stream" in ctype:  # server-sent events: a JSON document per data line
            text = json_members(text, self._member(keep_claims))
        if "xml" in ctype or text.lstrip()[:1] == "<":
            text = self._xml(text, keep_claims=keep_claims)
        return self.text(text, keep_claims=keep_claims).encode("utf-8", "surrogateescape")

    def _member(self, keep_claims: bool) -> Callable[[str, str | int | float], str | None]:
        """The replacement of a JSON member read as text, as _walk would replace it."""

        def replace_member(name: str, value: str | int | float) -> str | None:
            if isinstance(value, bool):
                return None
            text = value if isinstance(value, str) else orjson.dumps(value).decode()
            if not self._field(name, text, form=False):
                return None
            return self._secret(text, keep_claims=keep_claims)

        return replace_member

    def _named(self, name: str, value: str, *, form: bool = False) -> bool:
        """Whether an XML element or attribute, or a multipart field, holds a secret."""
        return self._field(name.rsplit(":", 1)[-1], value.strip(), form=form)

    def _xml(self, text: str, *, keep_claims: bool) -> str:
        """XML (SOAP, SAML, WS-Security) with the text of secret elements and the values of
        secret attributes replaced: <wsse:Password>, <client_secret>, password="..."."""

        def element(value: str) -> str:
            return self._secret(value.strip(), keep_claims=False)

        text = _XML_ELEMENT.sub(self._named_value("tag", element), text)
        return _XML_ATTRIBUTE.sub(self._named_value("attr", self.placeholder), text)

    def _named_value(
        self, name: str, secret: Callable[[str], str]
    ) -> Callable[[re.Match[str]], str]:
        """A replacement for re.sub: the match's `value` group replaced by `secret` of it when
        the match's `name` group (an element or attribute name) says it holds a secret."""

        def replace(m: re.Match[str]) -> str:
            value = m.group("value")
            if not self._named(m.group(name), value):
                return m.group(0)
            start, end = (i - m.start() for i in m.span("value"))
            whole = m.group(0)
            return whole[:start] + secret(value) + whole[end:]

        return replace

    def _multipart(self, text: str, *, keep_claims: bool) -> str:
        """A multipart body with the content of secret fields (by part name) replaced."""

        def part(m: re.Match[str]) -> str:
            value = m.group("value")
            if not self._named(m.group("name"), value, form=True):
                return m.group(0)
            return m.group("head") + self._secret(value, keep_claims=False)

        return self.text(_MULTIPART_PART.sub(part, text), keep_claims=keep_claims)

    def _json(self, raw: bytes, data: Any, *, keep_claims: bool) -> bytes:
        """A JSON body with secret members and shapes replaced, its bytes kept where possible."""
        swaps: dict[str, str] = {}
        touched = False  # a JSONPath rule replaced a value in `data` itself
        for expr in self.rules.json:
            for found in expr.find(data):
                value = found.value
                if isinstance(value, str) and value and not is_placeholder(value):
                    swaps[value] = self._secret(value, keep_claims=keep_claims)
                    data = found.full_path.update(data, swaps[value])
                    touched = True
                elif isinstance(value, int | float) and not isinstance(value, bool):
                    secret = self.placeholder(orjson.dumps(value).decode())
                    data = found.full_path.update(data, secret)
                    touched = True
        rebuilt = self._walk(data, swaps, keep_claims=keep_claims)
        if not swaps and not touched and rebuilt == data:
            return raw
        out = raw
        for old, new in sorted(swaps.items(), key=lambda kv: -len(kv[0])):
            old_b = orjson.dumps(old)
            if old_b not in out:
                # spelled with other escapes in the original: write the document afresh
                return orjson.dumps(rebuilt)
            out = out.replace(old_b, orjson.dumps(new))
        if orjson.loads(out) != rebuilt:
            return orjson.dumps(rebuilt)  # a non-string secret, or a replacement went astray
        return out

    def _walk(self, value: Any, swaps: dict[str, str], *, keep_claims: bool) -> Any:
        if isinstance(value, dict):
            out = {}
            for k, v in value.items():
                scalar = v is not None and not isinstance(v, dict | list | bool)
                text = (v if isinstance(v, str) else orjson.dumps(v).decode()) if scalar else ""
                if scalar and self._field(k, text, form=False):
                    new = self._secret(text, keep_claims=keep_claims)
                    if isinstance(v, str):
                        swaps[v] = new
                    out[k] = new
                else:
                    out[k] = self._walk(v, swaps, keep_claims=keep_claims)
            return out
        if isinstance(value, list):
            return [self._walk(v, swaps, keep_claims=keep_claims) for v in value]
        if isinstance(value, str):
            new = self.text(value, keep_claims=keep_claims)
            if new != value:
                swaps[value] = new
            return new
        return value


def _unquote(text: str) -> str:
    """A query or form part decoded, bytes that are not UTF-8 kept (quote(errors=...) undoes it)."""
    return unquote_plus(text, errors="surrogateescape")
