"""Header drift: only the headers a client acts on, and rate limits only by presence."""

from __future__ import annotations

from virt.drift.finding import Kind
from virt.drift.headers import compare


def test_volatile_headers_and_rate_limit_values_never_count() -> None:
    recorded = (
        ("Date", "Mon"),
        ("ETag", '"1"'),
        ("X-RateLimit-Remaining", "99"),
        ("Content-Type", "application/json; charset=utf-8"),
        ("Cache-Control", "private, max-age=60"),
    )
    live = (
        ("date", "Tue"),
        ("etag", '"2"'),
        ("x-ratelimit-remaining", "3"),
        ("content-type", "application/json"),
        ("cache-control", "max-age=60, private"),
    )
    assert compare(recorded, live) == []


def test_a_new_media_type_is_breaking_and_a_sunset_compatible() -> None:
    found = compare(
        (("Content-Type", "application/json"),),
        (("Content-Type", "text/html"), ("Sunset", "Wed, 01 Jul 2026 00:00:00 GMT")),
    )
    assert [(f.kind, f.where, str(f.severity)) for f in found] == [
        (Kind.CONTENT_TYPE_CHANGED, "header:Content-Type", "breaking"),
        (Kind.HEADER_ADDED, "header:Sunset", "compatible"),
    ]


def test_a_rate_limit_header_that_appears_is_reported_once() -> None:
    found = compare((), (("RateLimit-Limit", "100"),))
    assert [(f.kind, f.where) for f in found] == [(Kind.HEADER_ADDED, "header:Ratelimit-Limit")]
