"""Comparable fields: which ones never count in matching."""

from __future__ import annotations

import pytest

from virt.normalize.fields import is_volatile


@pytest.mark.parametrize(
    "name",
    [
        "x-stainless-os",
        "x-stainless-arch",
        "x-stainless-runtime-version",
        "x-stainless-package-version",
        "x-stainless-retry-count",
        "x-stainless-some-future-telemetry",
        "x-fern-sdk-version",
        "x-amz-user-agent",
        "x-goog-api-client",
        "x-ms-client-request-id",
        "x-stripe-client-user-agent",
        "sentry-trace",
        "baggage",
        "traceparent",
        "tracestate",
        "user-agent",
    ],
)
def test_client_environment_headers_never_count(name: str) -> None:
    assert is_volatile(f"header:{name}")


@pytest.mark.parametrize(
    "name", ["anthropic-version", "stripe-version", "x-ms-version", "x-tenant", "x-stainless"]
)
def test_headers_that_choose_the_answer_count(name: str) -> None:
    assert not is_volatile(f"header:{name}")


def test_the_header_prefixes_apply_to_headers_only() -> None:
    assert not is_volatile("query:x-stainless-os")
    assert not is_volatile("body:$.x-stainless-os")
