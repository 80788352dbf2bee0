"""Re-sending a recorded request: its redacted secrets filled from the environment, never from
the recordings, and nothing sent that still holds a placeholder.

A recording holds `<secret:…>` where a credential was. Each one is filled from an environment
variable: the one `[drift.credentials]` in virt.toml names for that header or field
(`Authorization = "API_TOKEN"`), else VIRT_DRIFT_<NAME> (VIRT_DRIFT_AUTHORIZATION). The variable
holds what the placeholder stands for: `Bearer <secret:…>` with API_TOKEN=abc sends `Bearer abc`.
A request with a placeholder nobody supplied a value for is skipped with that reason.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import quote, unquote_plus

import httpx
import orjson

from virt import encoding
from virt.config import ConfigFile, UpstreamTrust
from virt.errors import ConfigError
from virt.limits import DEFAULT_MAX_BODY, size_text
from virt.model import HOP_BY_HOP, Request, Response, header

ANY_PLACEHOLDER = re.compile(r"(?:<|%3C)secret(?::|%3A)[0-9a-f]{8}(?:>|%3E)", re.IGNORECASE)
"""A placeholder as recorded, plain or percent-encoded (in a path, query or form)."""
_PLACEHOLDER = re.compile(r"<secret:[0-9a-f]{8}>")
_NOT_SENT = HOP_BY_HOP | {"host", "content-length"}
ENV_PREFIX = "VIRT_DRIFT_"


def default_variable(name: str) -> str:
    """The variable that fills header or field `name` when [drift.credentials] names none."""
    return ENV_PREFIX + re.sub(r"[^A-Z0-9]", "_", name.upper())


@dataclass(frozen=True)
class Credentials:
    """Which environment variable fills each redacted header or field, and the environment."""

    names: Mapping[str, str]
    """Lower-cased header or field name -> variable name."""
    env: Mapping[str, str]

    @classmethod
    def from_config(cls, config: ConfigFile, env: Mapping[str, str] | None = None) -> Credentials:
        """The [drift.credentials] table of virt.toml: names of variables, never values."""
        drift = config.data.get("drift", {})
        if not isinstance(drift, dict):
            raise ConfigError(f"{config.source}: [drift] must be a table")
        table = drift.get("credentials", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{config.source}: [drift.credentials] must be a table")
        names: dict[str, str] = {}
        for name, variable in table.items():
            if not isinstance(variable, str) or not re.fullmatch(
                r"[A-Za-z_][A-Za-z0-9_]*", variable
            ):
                raise ConfigError(
                    f"{config.source}: [drift.credentials] {name} must name an environment "
                    "variable (API_TOKEN), not hold a value",
                    hint="put the secret in the environment and its variable's name here",
                )
            names[name.lower()] = variable
        return cls(names, os.environ if env is None else env)

    def scrub(self, text: str) -> str:
        """`text` with every credential this run may send replaced by `<credential>`: error
        messages of the HTTP stack can quote a URL or header they were sent."""
        names = set(self.names.values()) | {k for k in self.env if k.startswith(ENV_PREFIX)}
        for value in sorted((self.env.get(n) or "" for n in names), key=len, reverse=True):
            if len(value) >= 4:
                text = text.replace(value, "<credential>").replace(
                    quote(value, safe=""), "<credential>"
                )
        return text

    def variable(self, name: str) -> str:
        return self.names.get(name.lower()) or default_variable(name)

    def value(self, name: str) -> str | None:
        return self.env.get(self.variable(name)) or None


class Skip(Exception):
    """A request that is not sent, and why."""


def fill(request: Request, credentials: Credentials) -> Request:
    """`request` with every placeholder filled from the environment. Raises Skip naming what
    is missing; the result never holds a placeholder."""
    if ANY_PLACEHOLDER.search(request.path):
        raise Skip("its path holds a redacted secret, which no variable fills")
    missing: list[str] = []
    headers = tuple(
        (k, _swap(v, k, credentials, missing, f"header {k}")) for k, v in request.headers
    )
    query = _pairs(request.query, credentials, missing, "query field")
    body = request.body
    if ANY_PLACEHOLDER.search(body.decode("latin-1")):
        body = _body(request, credentials, missing)
    if missing:
        raise Skip(
            "needs a credential nobody supplied: "
            + ", ".join(dict.fromkeys(missing))
            + " (set the variable, or name one in [drift.credentials] of virt.toml)"
        )
    filled = replace(request, headers=headers, query=query, body=body)
    if _holds_placeholder(filled):  # belt and braces: a placeholder is never sent
        raise Skip("it still holds a redacted secret virt cannot fill")
    return filled


def _holds_placeholder(request: Request) -> bool:
    parts = [request.path, request.query, request.body.decode("latin-1")]
    parts += [v for _, v in request.headers]
    return any(ANY_PLACEHOLDER.search(p) for p in parts)


def _swap(
    value: str,
    name: str,
    credentials: Credentials,
    missing: list[str],
    what: str,
    *,
    coded: bool = False,
) -> str:
    if not ANY_PLACEHOLDER.search(value):
        return value
    secret = credentials.value(name)
    if secret is None:
        missing.append(f"{what} ({credentials.variable(name)})")
        return value
    new = quote(secret, safe="") if coded else secret
    return ANY_PLACEHOLDER.sub(lambda m: new, value)


def _pairs(encoded: str, credentials: Credentials, missing: list[str], what: str) -> str:
    if not ANY_PLACEHOLDER.search(encoded):
        return encoded
    out = []
    for part in encoded.split("&"):
        name = unquote_plus(part.split("=", 1)[0])
        out.append(_swap(part, name, credentials, missing, f"{what} {name}", coded=True))
    return "&".join(out)


def _body(request: Request, credentials: Credentials, missing: list[str]) -> bytes:
    ctype = (header(request.headers, "content-type") or "").lower()
    if "json" in ctype:
        try:
            data = orjson.loads(request.body)
        except orjson.JSONDecodeError:
            raise Skip("its body holds a redacted secret and is not valid JSON") from None
        return orjson.dumps(_walk(data, "", credentials, missing))
    if "x-www-form-urlencoded" in ctype:
        text = request.body.decode("latin-1")
        return _pairs(text, credentials, missing, "form field").encode("latin-1")
    raise Skip("its body holds a redacted secret in a form virt cannot fill")


def _walk(value: Any, name: str, credentials: Credentials, missing: list[str]) -> Any:
    if isinstance(value, dict):
        return {k: _walk(v, str(k), credentials, missing) for k, v in value.items()}
    if isinstance(value, list):
        return [_walk(v, name, credentials, missing) for v in value]
    if isinstance(value, str):
        return _swap(value, name, credentials, missing, f"body field {name or '(top level)'}")
    return value


class Sender:
    """Sends requests to their live upstreams with httpx, which honours HTTPS_PROXY, NO_PROXY
    and SSL_CERT_FILE; redirects are answers too, so they are not followed."""

    def __init__(
        self, *, timeout: float = 30.0, verify: bool = True, max_body: int = DEFAULT_MAX_BODY
    ) -> None:
        self.max_body = max_body
        self.client = httpx.Client(
            trust_env=True,
            verify=UpstreamTrust.from_env().ssl_context() if verify else False,
            timeout=timeout,
            follow_redirects=False,
        )

    def send(self, request: Request) -> Response:
        """The live answer, decoded as the recorder decodes it. Raises httpx.HTTPError when the
        upstream cannot be reached, encoding.BodyTooLarge past max_body."""
        if _holds_placeholder(request):
            raise Skip("it still holds a redacted secret")  # fill() was not called
        headers = [(k, v) for k, v in request.headers if k.lower() not in _NOT_SENT]
        body = encoding.encode(request.body, request.encoding) if request.encoding else request.body
        with self.client.stream(request.method, request.url, headers=headers, content=body) as up:
            chunks, size = [], 0
            for chunk in up.iter_raw():
                size += len(chunk)
                if size > self.max_body:
                    raise encoding.BodyTooLarge(
                        f"the live answer is over {size_text(self.max_body)}", self.max_body
                    )
                chunks.append(chunk)
        raw = b"".join(chunks)
        resp_headers = tuple((k.decode("latin-1"), v.decode("latin-1")) for k, v in up.headers.raw)
        decoded, coding = encoding.decode_body(
            raw, header(resp_headers, "content-encoding"), self.max_body
        )
        return Response(
            status=up.status_code,
            reason=up.reason_phrase,
            headers=resp_headers,
            body=decoded,
            encoding=coding,
            wire_body=raw if coding else None,
            http_version=up.http_version,
        )

    def close(self) -> None:
        self.client.close()
