"""Writing a Hoverfly v5 simulation: exact matchers on everything but request headers, bodies
as Hoverfly sends them, and repeats of one request chained through "sequence:N" states."""

from __future__ import annotations

import base64
import contextlib
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, unquote

from virt import encoding
from virt.errors import ConfigError
from virt.formats.hoverfly.common import NAME, PATH_SAFE, SEQUENCE
from virt.model import DEFAULT_PORTS, Interaction, Pattern, PatternKind, Request, header
from virt.normalize import exact_key

_SURROGATE = re.compile("[\ud800-\udfff]")


class HoverflyWriter:
    name: ClassVar[str] = NAME

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        """Write a v5 simulation file with exact matchers on method, scheme, destination, path,
        query and body; request headers are not matched (as Hoverfly captures by default).

        Repeats of one request are chained through "sequence:N" states, as Hoverfly's stateful
        capture does, so the responses replay in recorded order and the last one then repeats.
        """
        items = list(interactions)
        keys = [exact_key(i.request) for i in items]
        total: dict[str, int] = {}
        for key in keys:
            total[key] = total.get(key, 0) + 1
        sequences: dict[str, int] = {}
        seen: dict[str, int] = {}
        pairs = []
        for interaction, key in zip(items, keys, strict=True):
            occurrence = seen.get(key, 0)
            seen[key] = occurrence + 1
            pair = _pair_view(interaction)
            if total[key] > 1:
                state = f"{SEQUENCE}{sequences.setdefault(key, len(sequences) + 1)}"
                pair["request"]["requiresState"] = {state: str(occurrence + 1)}
                if occurrence + 1 < total[key]:
                    pair["response"]["transitionsState"] = {state: str(occurrence + 2)}
            pairs.append(pair)
        doc = {
            "data": {"pairs": pairs, "globalActions": {"delays": [], "delaysLogNormal": []}},
            "meta": {"schemaVersion": "v5"},
        }
        try:
            if path.is_dir():
                raise ConfigError(
                    f"{path} is a folder", hint="Hoverfly export writes one JSON file: name a file"
                )
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(_json_text(doc), "utf-8")
        except OSError as e:
            raise ConfigError(f"cannot write {path}: {e.strerror or e}") from e
        return len(items)


WRITER = HoverflyWriter()


def _pair_view(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    pattern = interaction.pattern
    rq: dict[str, Any] = {
        "path": [
            _matcher(pattern.path if pattern else None) or _exact(_hoverfly_path(request.path))
        ],
        "method": [_exact(request.method.upper())],
        "destination": [
            _matcher(pattern.host if pattern else None) or _exact(_destination_text(request))
        ],
        "scheme": [_exact(request.scheme)],
        "body": [_exact(request.body.decode("utf-8", "surrogateescape"))],
    }
    grouped: dict[str, list[str]] = {}
    # a byte that is not UTF-8 (%80) stays a lone surrogate, which the reader encodes back
    for name, value in parse_qsl(request.query, keep_blank_values=True, errors="surrogateescape"):
        grouped.setdefault(name, []).append(value)
    if grouped:
        rq["query"] = {name: [_exact(";".join(values))] for name, values in grouped.items()}
    rs: dict[str, Any] = {"status": response.status}
    # Hoverfly sends a body as it is: a body under a Content-Encoding goes as the wire bytes
    wire, text = response.body, None
    if response.encoding:
        wire = response.wire_body or encoding.encode(response.body, response.encoding)
    elif not encoding.normalize_coding(header(response.headers, "content-encoding")):
        with contextlib.suppress(UnicodeDecodeError):
            text = wire.decode("utf-8")
    if text is None:
        rs["body"], rs["encodedBody"] = base64.b64encode(wire).decode("ascii"), True
    else:
        rs["body"], rs["encodedBody"] = text, False
    headers: dict[str, list[str]] = {}
    for name, value in response.headers:
        headers.setdefault(name, []).append(value)
    if headers:
        rs["headers"] = headers
    rs["templated"] = False
    return {"request": rq, "response": rs}


def _json_text(doc: Any) -> str:
    """JSON, readable as UTF-8, with a lone surrogate (a request body byte that is not UTF-8)
    written as its escape, which is still valid JSON."""
    text = json.dumps(doc, indent=2, ensure_ascii=False)
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text) + "\n"


def _matcher(pattern: Pattern | None) -> dict[str, str] | None:
    """The glob or regex matcher an imported Hoverfly pair had on this field, if any."""
    if pattern is None or pattern.kind not in _MATCHERS:
        return None  # none, or WireMock's regexes and templates: the example, exactly
    return {"matcher": _MATCHERS[pattern.kind], "value": pattern.value}


_MATCHERS = {PatternKind.GLOB: "glob", PatternKind.SEARCH: "regex"}


def _exact(value: str) -> dict[str, str]:
    return {"matcher": "exact", "value": value}


def _hoverfly_path(path: str) -> str:
    """The path decoded, as Hoverfly compares it, when decoding loses nothing on import."""
    decoded = unquote(path)
    if "%" not in decoded and quote(decoded, safe=PATH_SAFE) == path:
        return decoded
    return path


def _destination_text(request: Request) -> str:
    host = f"[{request.host}]" if ":" in request.host else request.host
    if DEFAULT_PORTS.get(request.scheme) == request.port:
        return host
    return f"{host}:{request.port}"
