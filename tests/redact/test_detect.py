"""What counts as a secret: header names, field names however spelled, and values judged by
their shape as well as their name."""

from __future__ import annotations

import pytest

from virt.redact.detect import is_credential_value, is_secret_field, is_secret_header


@pytest.mark.parametrize(
    "name",
    [
        "X-RapidAPI-Key",
        "X-Auth-Key",
        "Ocp-Apim-Subscription-Key",
        "X-Authorization",
        "X-Api-Key",
        "Authorization",
        "X-CSRF-Token",
        "X-Session-Id",
        "X-Client-Secret",
    ],
)
def test_credential_headers_are_known_by_their_words(name: str) -> None:
    assert is_secret_header(name)


@pytest.mark.parametrize(
    "name",
    [
        "Idempotency-Key",
        "Sec-WebSocket-Key",
        "Content-Type",
        "X-Request-Id",
        "Accept",
        "Access-Control-Allow-Credentials",
        "X-Slack-Shared-Secret-Outcome",
        "X-Amzn-Bedrock-Input-Token-Count",
        "X-Mitm-Auth-Token-Name",
    ],
)
def test_keys_that_are_no_credentials_are_not_secret_headers(name: str) -> None:
    assert not is_secret_header(name)


@pytest.mark.parametrize(
    "name",
    [
        "clientSecret",
        "accessToken",
        "refreshToken",
        "client-secret",
        "Access-Token",
        "idToken",
        "apiKey",
        "newPassword",
        "db_password",
        "privateToken",
    ],
)
def test_camel_and_kebab_case_json_names_are_secret_like_snake_case(name: str) -> None:
    assert is_secret_field(name, form=False)


@pytest.mark.parametrize("name", ["auth_token", "private_token", "api-key", "signature", "sig"])
def test_query_parameters_that_carry_credentials(name: str) -> None:
    assert is_secret_field(name, form=True)


@pytest.mark.parametrize("name", ["signature", "sig", "code", "token", "name", "tokens_used"])
def test_json_members_too_common_to_be_secrets_by_name(name: str) -> None:
    assert not is_secret_field(name, form=False)


@pytest.mark.parametrize(
    "value",
    [
        "https://github.githubassets.com/images/icons/emoji/unicode/3299.png?v8",
        "*****",
        "••••••••",
        "",
        "2026-01-01T00:05:00Z",
        "2026-01-01",
        "-----BEGIN PGP SIGNATURE-----\n\niQEzBAABCAAdFiEE\n-----END PGP SIGNATURE-----\n",
        "Password must be at least 8 characters.",
        "<ACCESS_TOKEN>",
        "[REDACTED]",
        "{{ password }}",
        "function change(user, cb) {\n  return cb(null);\n}",
    ],
)
def test_values_shaped_unlike_credentials_are_not_credentials(value: str) -> None:
    assert not is_credential_value(value)


@pytest.mark.parametrize(
    "value",
    [
        "hunter2",
        "cs-8a7b6c5d4e3f2a1b",
        "correct horse battery staple",  # a passphrase: no sentence's full stop
        "postgres://app:s3cret@db.internal/app",  # a URL with a password in it
        "12345",
    ],
)
def test_values_shaped_like_credentials_are_credentials(value: str) -> None:
    assert is_credential_value(value)


def test_a_header_named_like_a_secret_that_holds_a_date_keeps_it() -> None:
    from virt.redact.detect import header_spans

    assert header_spans("X-Refresh-Token", "2026-01-01 00:00:00 UTC") == []
    assert header_spans("X-Token-Expires", "Tue, 15 Nov 2026 08:12:31 GMT") == []
    assert header_spans("X-Auth-Token", "at-0123456789") == [(0, 13)]
    assert header_spans("Authorization", "Bearer *****") == [(7, 12)]  # well-known: always
