"""Betamax (JSON) and Ruby VCR (YAML) cassettes: both keep a list of http_interactions.

Shape: {http_interactions: [{request: {method, uri, body, headers}, response: {status: {code,
message}, headers, body, [url], [http_version]}, recorded_at}], recorded_with}. A body is a
{string | base64_string, encoding} mapping whose bytes are those read off the wire: Betamax puts
gzip bodies in base64_string (github3.py leaves an empty string beside it), Ruby VCR puts there
bodies that are not valid in their encoding. The oldest Betamax files have a flat status_code;
Ruby VCR 1.x files are a bare list of !ruby/struct interactions with plain-text bodies, method
symbols (:get) and Psych's !binary (base64) strings, all read by yamlsafe.CassetteLoader.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

from virt.formats.base import ImportFormatError, Item, Reader, Skipped, head, make_interaction
from virt.formats.cassette import (
    body_bytes,
    entries,
    headers_of,
    iso_time,
    load_document,
    request_of,
    response_of,
    sides,
    status_line,
)
from virt.model import Request, Response

__all__ = ["READERS", "BetamaxReader", "RubyVcrReader"]

_JSON_MARK = re.compile(rb'^\s*\{\s*"http_interactions"\s*:|"http_interactions"\s*:\s*\[')
_YAML_MARK = re.compile(rb"^(---\s*)?http_interactions\s*:|^(---\s*)?- !ruby/struct:VCR::", re.M)
# Ruby VCR's marks in a JSON cassette: its recorder name, or an RFC 2822 recorded_at
_RUBY_IN_JSON = re.compile(
    rb'"recorded_with"\s*:\s*"VCR |"recorded_at"\s*:\s*"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), '
)


class _HttpInteractionsReader:
    name: ClassVar[str]

    def read(self, path: Path) -> Iterator[Item]:
        data = load_document(path)
        if isinstance(data, dict) and isinstance(data.get("http_interactions"), list):
            items: list[Any] = data["http_interactions"]
            key = "http_interactions"
        elif isinstance(data, list):  # Ruby VCR 1.x: a bare list of interactions
            items, key = data, ""
        else:
            raise ImportFormatError(path, "", "expected a mapping with an http_interactions list")
        yield from entries(items, key, path, lambda entry, where: self._entry(entry, where, path))

    def _entry(self, entry: Any, where: str, path: Path) -> Item:
        found = sides(entry, where, path)
        if isinstance(found, Skipped):
            return found
        raw_request, raw_response = found
        request = _request(raw_request, f"{where}.request", path)
        response = _response(raw_response, f"{where}.response", path)
        return make_interaction(
            request,
            response,
            source=path,
            source_format=self.name,
            recorded_at=iso_time(entry.get("recorded_at")),
        )


def _body(value: Any, where: str, path: Path) -> bytes:
    found = body_bytes(value, where, path)
    if found is None:
        raise ImportFormatError(path, where, "expected {string | base64_string, encoding} or text")
    return found


def _request(raw: dict[Any, Any], where: str, path: Path) -> Request:
    headers = headers_of(raw.get("headers"), f"{where}.headers", path)
    body = _body(raw.get("body"), f"{where}.body", path)
    return request_of(raw.get("method"), raw.get("uri"), headers, body, where, path)


def _response(raw: dict[Any, Any], where: str, path: Path) -> Response:
    headers = headers_of(raw.get("headers"), f"{where}.headers", path)
    status, reason = status_line(raw, where, path)
    body = _body(raw.get("body"), f"{where}.body", path)
    return response_of(status, reason, headers, body, http_version=_http_version(raw))


def _http_version(raw: dict[Any, Any]) -> str:
    """Ruby VCR's http_version ("1.1", null) as the model spells it ("HTTP/1.1")."""
    value = raw.get("http_version")
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return "HTTP/1.1"
    value = value.strip()
    return value if value.upper().startswith("HTTP/") else f"HTTP/{value}"


class BetamaxReader(_HttpInteractionsReader):
    """Reads Betamax cassettes (JSON)."""

    name: ClassVar[str] = "betamax"

    def sniff(self, path: Path) -> bool:
        if path.suffix.lower() != ".json":
            return False
        text = head(path)
        return _JSON_MARK.search(text) is not None and _RUBY_IN_JSON.search(text) is None


class RubyVcrReader(_HttpInteractionsReader):
    """Reads Ruby VCR cassettes (YAML, or JSON from its :json serializer)."""

    name: ClassVar[str] = "vcr-ruby"

    def sniff(self, path: Path) -> bool:
        suffix = path.suffix.lower()
        text = head(path)
        if suffix in (".yml", ".yaml"):
            return _YAML_MARK.search(text) is not None
        if suffix == ".json":
            return _JSON_MARK.search(text) is not None and _RUBY_IN_JSON.search(text) is not None
        return False


READERS: list[Reader] = [BetamaxReader(), RubyVcrReader()]
