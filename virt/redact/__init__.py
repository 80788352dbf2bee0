"""Redaction: secrets replaced by keyed placeholders before an interaction touches disk.

Each secret becomes `<secret:3f9a1c02>`, eight hex digits of an HMAC-SHA256 of the secret under
a key kept outside the database (virt.redact.key), so the same secret always gets the same
placeholder: a request that carries it still finds its recording, once redacted the same way.

JWTs are secrets too, but their claims are what a service under test reads. In responses, a
JWT keeps its header and claims and loses its signature (`eyJ...eyJ....<secret:...>`), so that
replay can mint a fresh token with the same claims; in requests it becomes a bare placeholder.
The placeholder of a JWT ignores its time claims (iat, nbf, exp, auth_time), so a token minted
at replay redacts to the same placeholder as the one it stands for.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import quote, unquote_plus

import orjson
from jsonpath_ng.ext.parser import parse as parse_jsonpath

from virt.errors import ConfigError
from virt.model import Headers, Interaction, Request, Response, header
from virt.redact.detect import (
    JWT,
    SECRET_FIELDS,
    header_spans,
    is_placeholder,
    is_secret_field,
    shape_spans,
)

TIME_CLAIMS = frozenset({"iat", "nbf", "exp", "auth_time", "jti"})
_XML_SECRET_NAMES = frozenset(f.replace("_", "").replace("-", "") for f in SECRET_FIELDS)
"""Secret field names as XML and multipart spell them: AccessToken, access-token, access_token."""
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
"""Claims that differ between a recorded JWT and the one minted for it at replay."""


@dataclass(frozen=True, slots=True)
class RedactRules:
    """Extra secrets named in virt.toml's [redact] table, on top of the built-in ones."""

    headers: frozenset[str] = frozenset()
    fields: frozenset[str] = frozenset()
    patterns: tuple[re.Pattern[str], ...] = ()
    json: tuple[Any, ...] = ()
    """JSONPath expressions (jsonpath-ng) whose values in JSON bodies are secrets."""

    @classmethod
    def from_dict(cls, data: dict[str, Any], source: str = "virt.toml") -> RedactRules:
        """[redact] headers, fields, json and patterns; ConfigError names a bad key."""
        where = f"{source}: redact"
        known = ("fields", "headers", "json", "patterns")
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise ConfigError(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(known)}")
        lists = {}
        for key in known:
            value = data.get(key, [])
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f"{where}.{key}: expected an array of strings")
            lists[key] = value
        patterns = []
        for i, text in enumerate(lists["patterns"]):
            try:
                patterns.append(re.compile(text))
            except re.error as e:
                raise ConfigError(f"{where}.patterns[{i}]: {e}") from e
        paths = []
        for i, text in enumerate(lists["json"]):
            try:
                paths.append(parse_jsonpath(text))
            except Exception as e:  # jsonpath-ng raises its own errors and a few of Python's
                raise ConfigError(f"{where}.json[{i}]: bad JSONPath {text!r}: {e}") from e
        return cls(
            frozenset(h.lower() for h in lists["headers"]),
            frozenset(f.lower() for f in lists["fields"]),
            tuple(patterns),
            tuple(paths),
        )


@dataclass
class Redactor:
    """Replaces secrets in interactions with keyed placeholders."""

    key: bytes
    rules: RedactRules = field(default_factory=RedactRules)

    def placeholder(self, secret: str) -> str:
        digest = hmac.new(self.key, secret.encode("utf-8", "surrogateescape"), hashlib.sha256)
        return f"<secret:{digest.hexdigest()[:8]}>"

    def jwt_placeholder(self, token: str) -> str:
        """The placeholder of a JWT: keyed on its claims without the time claims."""
        claims = jwt_claims(token)
        if claims is None:
            return self.placeholder(token)
        stable = {k: v for k, v in claims.items() if k not in TIME_CLAIMS}
        return self.placeholder("jwt:" + orjson.dumps(stable, option=orjson.OPT_SORT_KEYS).decode())

    # interactions

    def interaction(self, interaction: Interaction) -> Interaction:
        request = self.request(interaction.request)
        response = self.response(interaction.response)
        if request is interaction.request and response is interaction.response:
            return interaction
        return replace(interaction, request=request, response=response)

    def request(self, request: Request) -> Request:
        """`request` with every secret replaced; the same object when it holds none."""
        headers = self._headers(request.headers, keep_claims=False)
        query = self._pairs(request.query, keep_claims=False)
        body = self._body(request.body, request.headers, keep_claims=False)
        if (headers, query, body) == (request.headers, request.query, request.body):
            return request
        return replace(request, headers=headers, query=query, body=body)

    def response(self, response: Response) -> Response:
        headers = self._headers(response.headers, keep_claims=True)
        body = self._body(response.body, response.headers, keep_claims=True)
        if (headers, body) == (response.headers, response.body):
            return response
        wire = response.wire_body if body == response.body else None  # re-encoded on replay
        return replace(response, headers=headers, body=body, wire_body=wire)

    # parts

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
            if not eq:
                continue
            name = unquote_plus(name_raw)
            value = unquote_plus(value_raw)
            if value and (is_secret_field(name, form=True) or name.lower() in self.rules.fields):
                new = value if is_placeholder(value) else self._secret(value, keep_claims=False)
            else:
                new = self.text(value, keep_claims=keep_claims)
            if new != value:
                parts[i] = f"{name_raw}={quote(new, safe='')}"
                changed = True
        return "&".join(parts) if changed else encoded

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
            return body  # binary: no text secrets to find
        if "x-www-form-urlencoded" in ctype:
            return self._pairs(text, keep_claims=keep_claims).encode()
        if "json" in ctype or text.lstrip()[:1] in ("{", "["):
            try:
                data = orjson.loads(body)
            except orjson.JSONDecodeError:
                pass
            else:
                return self._json(body, data, keep_claims=keep_claims)
        if "xml" in ctype or text.lstrip()[:1] == "<":
            text = self._xml(text, keep_claims=keep_claims)
        return self.text(text, keep_claims=keep_claims).encode()

    def _named(self, name: str) -> bool:
        """Whether an XML element or attribute, or a multipart field, holds a secret by name."""
        local = name.rsplit(":", 1)[-1].lower()
        return (
            local.replace("-", "").replace("_", "") in _XML_SECRET_NAMES
            or local in self.rules.fields
        )

    def _xml(self, text: str, *, keep_claims: bool) -> str:
        """XML (SOAP, SAML, WS-Security) with the text of secret elements and the values of
        secret attributes replaced: <wsse:Password>, <client_secret>, password="..."."""

        def element(m: re.Match[str]) -> str:
            value = m.group("value")
            if not self._named(m.group("tag")) or not value.strip() or is_placeholder(value):
                return m.group(0)
            start, end = (i - m.start() for i in m.span("value"))
            whole = m.group(0)
            return whole[:start] + self._secret(value.strip(), keep_claims=False) + whole[end:]

        def attribute(m: re.Match[str]) -> str:
            value = m.group("value")
            if not self._named(m.group("attr")) or not value or is_placeholder(value):
                return m.group(0)
            start, end = (i - m.start() for i in m.span("value"))
            whole = m.group(0)
            return whole[:start] + self.placeholder(value) + whole[end:]

        text = _XML_ELEMENT.sub(element, text)
        return _XML_ATTRIBUTE.sub(attribute, text)

    def _multipart(self, text: str, *, keep_claims: bool) -> str:
        """A multipart body with the content of secret fields (by part name) replaced."""

        def part(m: re.Match[str]) -> str:
            value = m.group("value")
            if not self._named(m.group("name")) and not is_secret_field(m.group("name"), form=True):
                return m.group(0)
            if not value or is_placeholder(value):
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
                secret = is_secret_field(k, form=False) or k.lower() in self.rules.fields
                if secret and v is not None and not isinstance(v, dict | list | bool):
                    text = v if isinstance(v, str) else orjson.dumps(v).decode()
                    if not text or is_placeholder(text):
                        out[k] = v
                        continue
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


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (its middle part), or None when it does not decode."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None
