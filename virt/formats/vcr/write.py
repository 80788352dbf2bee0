"""Write VCR.py 1.x YAML cassettes, interaction by interaction."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any, ClassVar

import yaml

from virt import encoding
from virt.formats.vcr.common import NAME, VERSION
from virt.model import Headers, Interaction

__all__ = ["WRITER", "VcrWriter"]

_SafeDumper: Any = getattr(yaml, "CSafeDumper", yaml.SafeDumper)


def _grouped(headers: Headers) -> dict[str, list[str]]:
    """VCR.py's header shape: names in first-seen order, each with its values in order.

    Repeats of one name that other fields interleave come back grouped: VCR.py cannot say more.
    """
    out: dict[str, list[str]] = {}
    for name, value in headers:
        out.setdefault(name, []).append(value)
    return out


def _text_or_bytes(data: bytes) -> str | bytes:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data


def _cassette_entry(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    request_body = request.body
    if request.encoding is not None and request_body:
        request_body = encoding.encode(request_body, request.encoding)
    if response.encoding is not None:
        wire = response.wire_body
        if wire is None:
            wire = encoding.encode(response.body, response.encoding) if response.body else b""
        response_body: str | bytes = wire
    else:
        response_body = _text_or_bytes(response.body)
    entry: dict[str, Any] = {
        "request": {
            "body": _text_or_bytes(request_body) if request_body else None,
            "headers": _grouped(request.headers),
            "method": request.method,
            "uri": request.url,
        },
        "response": {
            "body": {"string": response_body},
            "headers": _grouped(response.headers),
            "status": {"code": response.status, "message": response.reason},
        },
    }
    if interaction.recorded_at:
        entry["recorded_at"] = interaction.recorded_at  # as praw's cassettes; VCR.py ignores it
    return entry


def _dump(value: Any) -> str:
    return str(yaml.dump(value, Dumper=_SafeDumper, sort_keys=False, allow_unicode=True, width=100))


class VcrWriter:
    """Writes one VCR.py 1.x YAML cassette, interaction by interaction.

    Per interaction: the request (body null when empty, text when UTF-8, else !!binary), the
    response body as text when it is UTF-8 and was not content-encoded, else !!binary of the
    bytes as sent (gzip stays gzip, as VCR.py records it), headers as a dict of lists in
    first-seen order, and recorded_at. Not kept: the HTTP version and the order of a header's
    repeats relative to other fields, which VCR.py's format has no place for.
    """

    name: ClassVar[str] = NAME

    def write(self, interactions: Iterable[Interaction], path: Path) -> int:
        count = 0
        with path.open("w", encoding="utf-8", newline="\n") as f:
            for interaction in interactions:
                if count == 0:
                    f.write("interactions:\n")
                f.write(_dump([_cassette_entry(interaction)]))
                count += 1
            f.write("interactions: []\n" if count == 0 else "")
            f.write(f"version: {VERSION}\n")
        return count


WRITER = VcrWriter()
