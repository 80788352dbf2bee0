"""Writing a WireMock mappings folder: one mapping per interaction, bodies inline, and repeats
of one request chained as a scenario so they replay in the recorded order."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl

from virt.errors import ConfigError
from virt.formats.wiremock.common import NAME, STARTED
from virt.model import Headers, Interaction, PatternKind, Request


class WireMockWriter:
    name: ClassVar[str] = NAME

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        """Write `path`/mappings/<id>.json, one mapping per interaction, bodies inline.

        Requests match on method, URL and the exact body; headers are not matched and the host
        is not kept (WireMock has none). Repeats of one request become a scenario, so WireMock
        and virt replay their responses in the recorded order.
        """
        items = list(interactions)
        keys = [_request_key(i.request) for i in items]
        total: dict[bytes, int] = {}
        for key in keys:
            total[key] = total.get(key, 0) + 1
        folder = path / "mappings"
        try:
            if path.exists() and not path.is_dir():
                raise ConfigError(
                    f"{path} is a file", hint="WireMock export writes a folder: name a folder"
                )
            folder.mkdir(parents=True, exist_ok=True)
            seen: dict[bytes, int] = {}
            for index, (interaction, key) in enumerate(zip(items, keys, strict=True)):
                occurrence = seen.get(key, 0)
                seen[key] = occurrence + 1
                mapping = _mapping(interaction, key, index, occurrence, total[key])
                text = json.dumps(mapping, indent=2, ensure_ascii=False) + "\n"
                (folder / f"{mapping['id']}.json").write_text(text, encoding="utf-8")
        except OSError as e:
            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from e
        return len(items)


WRITER = WireMockWriter()


def _request_key(request: Request) -> bytes:
    """What a WireMock mapping written by virt matches on: method, URL and body."""
    return b"\0".join(
        (
            request.method.upper().encode(),
            request.target.encode("utf-8", "surrogateescape"),
            hashlib.sha256(request.body).digest(),
        )
    )


def _mapping(
    interaction: Interaction, key: bytes, index: int, occurrence: int, total: int
) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    digest = hashlib.sha256(key).hexdigest()
    mapping_id = str(uuid.uuid5(uuid.NAMESPACE_URL, f"virt:wiremock:{digest}:{occurrence}"))
    rq: dict[str, Any] = {**_url_matcher(interaction), "method": request.method.upper()}
    if request.body:
        try:
            rq["bodyPatterns"] = [{"equalTo": request.body.decode("utf-8")}]
        except UnicodeDecodeError:
            rq["bodyPatterns"] = [{"binaryEqualTo": base64.b64encode(request.body).decode()}]
    rs: dict[str, Any] = {"status": response.status}
    if response.reason:
        rs["statusMessage"] = response.reason
    if response.body:
        try:
            rs["body"] = response.body.decode("utf-8")
        except UnicodeDecodeError:
            rs["base64Body"] = base64.b64encode(response.body).decode("ascii")
    if response.headers:
        rs["headers"] = _grouped(response.headers)
    mapping: dict[str, Any] = {
        "id": mapping_id,
        "name": _slug(request),
        "request": rq,
        "response": rs,
        "uuid": mapping_id,
        "persistent": True,
        "insertionIndex": index + 1,
    }
    if total > 1:
        # WireMock's recorder names states the same way: Started, <name>-2, <name>-3, ...
        scenario = f"scenario-{digest[:12]}-{_slug(request)}"
        mapping["scenarioName"] = scenario
        mapping["requiredScenarioState"] = (
            STARTED if occurrence == 0 else f"{scenario}-{occurrence + 1}"
        )
        if occurrence + 1 < total:
            mapping["newScenarioState"] = f"{scenario}-{occurrence + 2}"
    return mapping


def _url_matcher(interaction: Interaction) -> dict[str, Any]:
    """The URL matcher of a mapping: the pattern an imported WireMock stub had (urlPattern,
    urlPathPattern or urlPathTemplate, with its query parameters), else the exact URL."""
    request, pattern = interaction.request, interaction.pattern
    if pattern is None or pattern.host is not None or pattern.path is None:
        return {"url": request.target}
    kind, value = pattern.path.kind, pattern.path.value
    if kind is PatternKind.REGEX and pattern.with_query:
        return {"urlPattern": value}
    if kind not in (PatternKind.REGEX, PatternKind.TEMPLATE):
        return {"url": request.target}  # Hoverfly's globs and searches: the example
    key = "urlPathPattern" if kind is PatternKind.REGEX else "urlPathTemplate"
    out: dict[str, Any] = {key: value}
    params: dict[str, list[str]] = {}
    for name, v in parse_qsl(request.query, keep_blank_values=True):
        params.setdefault(name, []).append(v)
    if params:
        out["queryParameters"] = {
            name: {"equalTo": vs[0]}
            if len(vs) == 1
            else {"hasExactly": [{"equalTo": v} for v in vs]}
            for name, vs in params.items()
        }
    return out


def _grouped(headers: Headers) -> dict[str, str | list[str]]:
    """WireMock's header object: repeats of a name gathered, as a list, where it first appears."""
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in out.items()}


def _slug(request: Request) -> str:
    words = re.sub(r"[^a-z0-9]+", "-", f"{request.method} {request.path}".lower()).strip("-")
    return words[:60].rstrip("-") or "root"
