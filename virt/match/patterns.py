"""The pattern stage: a recording's host and path patterns (from WireMock and Hoverfly stubs)
against a request, with regular expressions that cannot backtrack."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from functools import lru_cache
from urllib.parse import parse_qsl

import re2

from virt.model import Pattern, PatternKind, Request, RequestPattern

log = logging.getLogger("virt")

MAX_INPUT = 8192
"""Characters of a host, path or URL a pattern is matched against; a longer one never matches."""

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is logged once here, not by re2 on stderr

Test = Callable[[str], bool]

_TEMPLATE_PART = re.compile(r"\{[^{}/]+\}")


def matches(pattern: RequestPattern, recorded: Request, request: Request) -> bool:
    """Whether `request` is one the stub behind `recorded` (and its `pattern`) answers.

    With a host pattern, the host (or host:port) must match it, whatever the scheme, as
    Hoverfly's destination matcher does; without one, the request goes to the recorded
    origin. With a path pattern, the path (or, `with_query`, path and query) must match it;
    without one, the recorded path. Unless the pattern covers the query, each recorded query
    parameter must be sent with its value (others may be sent too, as WireMock's
    queryParameters allow). The recorded headers must be sent too, and the recorded body, if
    any, byte for byte: the stub's other matchers still hold.
    """
    if recorded.body and recorded.body != request.body:
        return False
    if not _headers_hold(recorded, request):
        return False
    if pattern.host is not None:
        host = _test(pattern.host)
        if not (host(request.host) or host(f"{request.host}:{request.port}")):
            return False
    elif (request.scheme, request.host, request.port) != (
        recorded.scheme,
        recorded.host,
        recorded.port,
    ):
        return False
    if pattern.path is not None:
        target = request.target if pattern.with_query else request.path
        if not _test(pattern.path)(target):
            return False
        if pattern.with_query:
            return True
    elif request.path != recorded.path:
        return False
    return _query_holds(recorded.query, request.query)


@lru_cache(maxsize=4096)
def _test(pattern: Pattern) -> Test:
    """The compiled test of `pattern`; one that cannot run is logged once and never matches."""
    try:
        return _compile(pattern.kind, pattern.value)
    except ValueError as e:
        log.warning("a recorded %s pattern never matches: %s", pattern.kind, e)
        return _never


def _compile(kind: PatternKind, value: str) -> Test:
    """A test of text against `value` read as `kind`; ValueError when it cannot be compiled
    or needs backtracking. Regexes run on google-re2, in time linear in the input, so a
    stub's regex cannot stall replay."""
    if kind is PatternKind.GLOB:
        regex = "".join(".*" if c == "*" else "." if c == "?" else re2.escape(c) for c in value)
        return _regex(regex, whole=True)
    if kind is PatternKind.TEMPLATE:
        parts = _TEMPLATE_PART.split(value)
        regex = "[^/]+".join(re2.escape(part) for part in parts)
        return _regex(regex, whole=True)
    return _regex(value, whole=kind is PatternKind.REGEX)


def _regex(regex: str, *, whole: bool) -> Test:
    try:
        compiled = re2.compile(regex, _RE2_OPTIONS)
    except re2.error as e:
        why = e.args[0].decode("utf-8", "replace") if e.args else str(e)
        raise ValueError(
            f"{regex!r} cannot be used: {why} (RE2 runs in linear time: no backreferences "
            "or lookarounds)"
        ) from e
    find = compiled.fullmatch if whole else compiled.search

    def test(text: str) -> bool:
        return len(text) <= MAX_INPUT and find(text) is not None

    return test


def _never(_text: str) -> bool:
    return False


def _headers_hold(recorded: Request, request: Request) -> bool:
    sent = {(name.lower(), value) for name, value in request.headers}
    return all((name.lower(), value) in sent for name, value in recorded.headers)


def _query_holds(recorded: str, sent: str) -> bool:
    """Each recorded query parameter is sent, with its value, as often as recorded."""
    if not recorded:
        return True
    wanted = parse_qsl(recorded, keep_blank_values=True)
    have = parse_qsl(sent, keep_blank_values=True)
    for pair in wanted:
        if pair not in have:
            return False
        have.remove(pair)
    return True
