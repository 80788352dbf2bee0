"""Redaction: every planted secret is replaced by a keyed placeholder, nothing else changes,
and what redaction leaves behind, a scan finds nothing in."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.redact.secrets import ACCESS_JWT, SECRETS, planted
from virt.model import Interaction, Request, Response
from virt.normalize import exact_key
from virt.redact import Redactor, jwt_claims
from virt.redact.scan import scan

KEY = b"k" * 32


def everything(i: Interaction) -> str:
    """Every byte of an interaction that could reach disk, as text."""
    parts = [i.request.url, *(f"{k}: {v}" for k, v in i.request.headers)]
    parts += [*(f"{k}: {v}" for k, v in i.response.headers)]
    parts += [i.request.body.decode("utf-8", "replace"), i.response.body.decode("utf-8", "replace")]
    return "\n".join(parts)


@pytest.mark.parametrize("kind", sorted(SECRETS))
def test_no_planted_secret_survives_redaction(kind: str) -> None:
    redactor = Redactor(KEY)
    text = "\n".join(everything(redactor.interaction(i)) for i in planted())
    secret = SECRETS[kind]
    for part in {secret, secret.split(".")[-1]}:  # a JWT's signature alone is the credential
        assert part not in text, f"{kind} survived"


def test_a_scan_finds_every_planted_secret_and_nothing_once_redacted() -> None:
    redactor = Redactor(KEY)
    found = [f for i in planted() for f in scan(i)]
    assert len(found) >= 20
    assert {f.kind for f in found} >= {"jwt", "private-key", "github-token", "slack-token"}
    assert all(SECRETS["bearer"] not in f.excerpt for f in found)  # masked
    assert [f for i in planted() for f in scan(redactor.interaction(i))] == []


def test_the_same_secret_always_gets_the_same_placeholder_and_keys_differ() -> None:
    a, b = Redactor(KEY), Redactor(b"another key of enough length")
    assert a.placeholder("s3cret") == a.placeholder("s3cret") != a.placeholder("s3cret2")
    assert a.placeholder("s3cret") != b.placeholder("s3cret")
    assert a.placeholder("x").startswith("<secret:") and len(a.placeholder("x")) == 17


def test_redaction_keeps_scheme_words_cookie_names_and_set_cookie_attributes() -> None:
    token, me = (Redactor(KEY).interaction(i) for i in planted()[:2])
    headers = dict(me.request.headers)
    assert headers["Authorization"].startswith("Bearer <secret:")
    assert (
        headers["Cookie"].startswith("theme=<secret:") and "; session=<secret:" in headers["Cookie"]
    )
    assert dict(token.request.headers)["Authorization"].startswith("Basic <secret:")
    set_cookie = dict(token.response.headers)["Set-Cookie"]
    assert set_cookie.startswith("sid=<secret:") and set_cookie.endswith("; Path=/; HttpOnly")


def test_response_jwts_keep_their_claims_and_request_jwts_become_placeholders() -> None:
    token = Redactor(KEY).interaction(planted()[0])
    body = orjson.loads(token.response.body)
    assert jwt_claims(body["access_token"]) == jwt_claims(ACCESS_JWT)
    assert body["access_token"].rsplit(".", 1)[1].startswith("<secret:")
    assert body["token_type"] == "Bearer" and body["expires_in"] == 120
    assert b'"token_type": "Bearer"' in token.response.body  # the bytes kept their layout
    assert b"client_assertion=%3Csecret%3A" in token.request.body


def test_a_jwt_placeholder_ignores_time_claims() -> None:
    from tests.redact.secrets import jwt

    r = Redactor(KEY)
    early = jwt({"sub": "u", "iat": 1, "exp": 121}, b"x" * 32)
    later = jwt({"sub": "u", "iat": 86_401, "exp": 86_521}, b"y" * 32)
    other = jwt({"sub": "v", "iat": 1, "exp": 121}, b"x" * 32)
    assert r.jwt_placeholder(early) == r.jwt_placeholder(later) != r.jwt_placeholder(other)


def test_redacting_twice_changes_nothing_more() -> None:
    r = Redactor(KEY)
    for i in planted():
        once = r.interaction(i)
        assert r.interaction(once) == once


def test_an_answer_seen_again_is_redacted_as_the_first_time_whatever_its_type_says() -> None:
    """Responses are remembered once redacted: an upstream answers alike while it is recorded.
    What is remembered must be what a fresh redaction gives, the content type included."""
    r = Redactor(KEY)
    for _ in range(3):
        for i in planted():
            assert r.interaction(i) == Redactor(KEY).interaction(i)
    body = b"password=hunter2hunter2&page=2"
    form = Response(
        200, headers=(("Content-Type", "application/x-www-form-urlencoded"),), body=body
    )
    binary = Response(200, headers=(("Content-Type", "application/octet-stream"),), body=body)
    for _ in range(2):
        assert b"hunter2" not in r.response(form).body
        assert r.response(binary).body == Redactor(KEY).response(binary).body


def test_an_interaction_without_secrets_is_returned_untouched() -> None:
    i = Interaction(
        Request("GET", "https", "h", 443, "/users/1", "page=2", (("Accept", "*/*"),)),
        Response(200, headers=(("Content-Type", "application/json"),), body=b'{"code": "ok"}'),
    )
    assert Redactor(KEY).interaction(i) is i


def test_a_request_redacts_to_the_key_of_its_redacted_recording() -> None:
    r = Redactor(KEY)
    recorded = r.request(planted()[0].request)
    again = r.request(planted()[0].request)
    assert exact_key(recorded) == exact_key(again)


@given(st.binary(max_size=300), st.text(max_size=60))
def test_any_body_and_header_value_is_redacted_without_error(body: bytes, value: str) -> None:
    r = Redactor(KEY)
    i = Interaction(
        Request(
            "POST",
            "https",
            "h",
            443,
            "/",
            "a=b",
            (("Authorization", value), ("Content-Type", "application/json")),
            body,
        ),
        Response(200, headers=(("Set-Cookie", value),), body=body),
    )
    once = r.interaction(i)
    assert r.interaction(once) == once
    assert scan(once) == []


def test_secret_elements_and_attributes_of_xml_are_redacted() -> None:
    soap = (
        b'<?xml version="1.0"?><soap:Envelope xmlns:soap="urn:s" xmlns:wsse="urn:w"><soap:Header>'
        b"<wsse:UsernameToken><wsse:Username>ada</wsse:Username>"
        b'<wsse:Password Type="PasswordText">s3cret-soap-pass</wsse:Password>'
        b'</wsse:UsernameToken></soap:Header><soap:Body><Login client_secret="cs-xml-99" '
        b'user="ada"><AccessToken>at-xml-1234567</AccessToken><code>E42</code></Login>'
        b"</soap:Body></soap:Envelope>"
    )
    i = Interaction(
        Request("POST", "https", "h", 443, "/soap", "", (("Content-Type", "text/xml"),), soap),
        Response(200),
    )
    out = Redactor(KEY).interaction(i).request.body.decode()
    for secret in ("s3cret-soap-pass", "cs-xml-99", "at-xml-1234567"):
        assert secret not in out
    assert "<wsse:Username>ada</wsse:Username>" in out and 'user="ada"' in out
    assert "<code>E42</code>" in out  # not a secret in XML, as in JSON
    assert '<wsse:Password Type="PasswordText"><secret:' in out
    assert scan(i) and not scan(Redactor(KEY).interaction(i))


def test_secret_fields_of_a_multipart_body_are_redacted_and_files_kept_byte_for_byte() -> None:
    binary = bytes(range(256))
    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="username"\r\n\r\nada\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="password"\r\n\r\nmp-pass-321\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="avatar"; filename="a.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + binary + b"\r\n--XyZ--\r\n"
    )
    i = Interaction(
        Request(
            "POST",
            "https",
            "h",
            443,
            "/signup",
            "",
            (("Content-Type", "multipart/form-data; boundary=XyZ"),),
            body,
        ),
        Response(200),
    )
    out = Redactor(KEY).interaction(i).request.body
    assert b"mp-pass-321" not in out and b'name="password"\r\n\r\n<secret:' in out
    assert b"\r\n\r\nada\r\n" in out
    assert binary in out


def test_a_request_carrying_a_minted_token_redacts_like_one_carrying_the_original(
    tmp_path: Path,
) -> None:
    from virt.replay.tokens import Minter

    r = Redactor(KEY)
    recorded = Interaction(planted()[0].request, planted()[0].response)
    stored = orjson.loads(r.interaction(recorded).response.body)["access_token"]
    claims = jwt_claims(stored)
    assert claims is not None
    minted = Minter.load(tmp_path).mint(claims, now=1_900_000_000)
    assert minted != ACCESS_JWT and jwt_claims(minted) != jwt_claims(ACCESS_JWT)  # times moved

    def introspect(token: str) -> Request:
        body = f"token={token}&client_id=c1".encode()
        ctype = (("Content-Type", "application/x-www-form-urlencoded"),)
        return Request("POST", "https", "auth.example", 443, "/introspect", "", ctype, body)

    original, fresh = r.request(introspect(ACCESS_JWT)), r.request(introspect(minted))
    assert original.body == fresh.body and b"token=%3Csecret%3A" in fresh.body
    assert exact_key(original) == exact_key(fresh)


def request_with(
    path: str = "/", query: str = "", headers: tuple[tuple[str, str], ...] = (), body: bytes = b""
) -> Request:
    return Request("POST", "https", "h", 443, path, query, headers, body)


def test_secrets_in_the_url_path_are_replaced_and_match_again() -> None:
    r = Redactor(KEY)
    path = f"/v1/keys/{SECRETS['stripe']}/jwt/{ACCESS_JWT}/info"
    out = r.request(request_with(path))
    assert SECRETS["stripe"] not in out.path and ACCESS_JWT.split(".")[-1] not in out.path
    assert out.path.startswith("/v1/keys/%3Csecret%3A") and out.path.endswith("%3E/info")
    assert "<" not in out.path  # percent-encoded: a valid path
    assert exact_key(out) == exact_key(r.request(request_with(path)))
    assert r.request(out) == out


@pytest.mark.parametrize(
    ("name", "value", "kept"),
    [
        ("X-RapidAPI-Key", "rapid-7c1f0e2a9b8d4c6e", ""),
        ("X-Auth-Key", "c2547eb745079dac9320b638f5e225cf483cc5cfdda41", ""),
        ("Ocp-Apim-Subscription-Key", "0123456789abcdef0123456789abcdef", ""),
        ("X-Authorization", "Basic YWxpY2U6czNjcmV0LWJhc2ljLXBhc3M=", "Basic "),
    ],
)
def test_credential_headers_named_by_their_words_are_replaced(
    name: str, value: str, kept: str
) -> None:
    out = Redactor(KEY).request(request_with(headers=((name, value),)))
    new = dict(out.headers)[name]
    assert value.split()[-1] not in new and new.startswith(kept + "<secret:")


def test_camel_and_kebab_case_json_members_are_replaced() -> None:
    body = orjson.dumps(
        {
            "clientSecret": "cs-camel-8a7b6c5d",
            "accessToken": "at-camel-1a2b3c4d",
            "refresh-token": "rt-kebab-9f8e7d6c",
            "tokenType": "Bearer",
        }
    )
    out = Redactor(KEY).request(
        request_with(headers=(("Content-Type", "application/json"),), body=body)
    )
    for secret in (b"cs-camel-8a7b6c5d", b"at-camel-1a2b3c4d", b"rt-kebab-9f8e7d6c"):
        assert secret not in out.body
    assert orjson.loads(out.body)["tokenType"] == "Bearer"


def test_credential_query_parameters_and_a_bare_key_are_replaced() -> None:
    stripe = SECRETS["stripe"]
    query = f"auth_token=at-q-123456&private_token=pt-q-654321&api-key=ak-q-777777&{stripe}&page=2"
    out = Redactor(KEY).request(request_with(query=query))
    for secret in ("at-q-123456", "pt-q-654321", "ak-q-777777", stripe):
        assert secret not in out.query
    assert out.query.endswith("&page=2") and out.query.count("%3Csecret%3A") == 4


def test_a_json_body_with_a_byte_that_is_not_utf8_loses_its_password_and_keeps_that_byte() -> None:
    body = b'{"user": "ren\xe9", "password": "hunter2-latin1"}'
    out = Redactor(KEY).request(
        request_with(headers=(("Content-Type", "application/json"),), body=body)
    )
    assert b"hunter2-latin1" not in out.body
    assert out.body.startswith(b'{"user": "ren\xe9", "password": "<secret:')
    assert scan(
        Interaction(
            request_with(body=body, headers=(("Content-Type", "application/json"),)), Response(200)
        )
    )


def test_a_latin1_form_body_loses_its_password_and_keeps_its_other_bytes() -> None:
    body = b"user=ren%E9&name=Ren\xe9&password=hunter2-form"
    ctype = (("Content-Type", "application/x-www-form-urlencoded"),)
    out = Redactor(KEY).request(request_with(headers=ctype, body=body))
    assert b"hunter2-form" not in out.body
    assert out.body.startswith(b"user=ren%E9&name=Ren\xe9&password=%3Csecret%3A")


@pytest.mark.parametrize("depth", [900, 1000, 5000])
def test_json_nested_deep_is_redacted_and_scanned_without_recursion_error(depth: int) -> None:
    body = b'{"a": ' * depth + b'{"password": "deep-secret-900"}' + b"}" * depth
    ctype = (("Content-Type", "application/json"),)
    i = Interaction(request_with(headers=ctype, body=body), Response(200, headers=ctype, body=body))
    out = Redactor(KEY).interaction(i)
    for side in (out.request.body, out.response.body):
        assert b"deep-secret-900" not in side
        assert side.startswith(b'{"a": {"a": ') and side.endswith(b"}" * (depth + 1))
    found = scan(i)
    assert len(found) == 2 and all("deep-secret-900" not in f.excerpt for f in found)
    assert scan(out) == []


PGP = "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJ\n=abcd\n-----END PGP SIGNATURE-----\n"
THINKING = "ErcHCkYIBxgCKkBZJZKmgqTGMrerntNOcgoakLxACdlqZhs9ARPkSHfxpKy8WFQJGmTqM8F5gcZ4poD5"
NOT_CREDENTIALS = {
    # GitHub's /emojis: a `secret` that is an image URL
    "emoji-url": {
        "secret": "https://github.githubassets.com/images/icons/emoji/unicode/3299.png?v8",
        "shipit": "https://github.githubassets.com/images/icons/emoji/shipit.png?v8",
    },
    # GitHub's commit: a public PGP signature
    "commit-verification": {"verification": {"verified": True, "signature": PGP}},
    # an LLM API's thinking block: the client sends its signature back unchanged
    "thinking-signature": {
        "content": [{"type": "thinking", "thinking": "Let me see.", "signature": THINKING}]
    },
    # a password the API masks itself, a date and a message under secret names
    "masked-password": {
        "user": {"name": "ada", "password": "*****", "password_changed": "2026-01-01"},
        "error": {"password": "Password must be at least 8 characters."},
    },
}


@pytest.mark.parametrize("kind", sorted(NOT_CREDENTIALS))
def test_values_that_are_no_credentials_are_kept_byte_for_byte(kind: str) -> None:
    json_type = (("Content-Type", "application/json"),)
    body = orjson.dumps(NOT_CREDENTIALS[kind])
    i = Interaction(
        request_with(headers=json_type, body=body), Response(200, "OK", json_type, body)
    )
    assert Redactor(KEY).interaction(i) is i
    assert scan(i) == []


def test_repr_of_what_holds_the_key_or_the_admin_token_never_shows_it(tmp_path: Path) -> None:
    from virt.replay.tokens import Minter
    from virt.server import ServeSettings

    key = b"the-hmac-key-must-not-show-0123456789"
    assert key.decode() not in repr(Redactor(key)) and "key" not in repr(Redactor(key))
    settings = ServeSettings(db=tmp_path / "api.db", admin_token="admin-token-do-not-print")
    assert "admin-token-do-not-print" not in repr(settings)
    minter = Minter.load(tmp_path)
    assert "PRIVATE" not in repr(minter) and minter.kid in repr(minter)
