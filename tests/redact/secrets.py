"""Twenty kinds of secrets, planted in realistic places, for redaction and scan tests."""

from __future__ import annotations

import base64
import json
from urllib.parse import urlencode

import orjson

from virt.model import Interaction, Request, Response


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def jwt(claims: dict[str, object], signature: bytes = b"s" * 32) -> str:
    head = b64url(orjson.dumps({"alg": "RS256", "typ": "JWT", "kid": "k1"}))
    return f"{head}.{b64url(orjson.dumps(claims))}.{b64url(signature)}"


ACCESS_JWT = jwt(
    {"sub": "user-1", "iss": "https://auth.example", "iat": 1_700_000_000, "exp": 1_700_000_120}
)
ID_JWT = jwt({"sub": "user-1", "aud": "app", "iat": 1_700_000_000, "exp": 1_700_003_600}, b"i" * 32)
PATH_JWT = jwt({"sub": "user-2", "scope": "keys:read"}, b"p" * 32)
ASSERTION_JWT = jwt({"iss": "client-1", "aud": "https://auth.example/token"}, b"a" * 32)
PEM = (
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gunVTLw7onLRnrq0/IzW7yWR7QkrmBL7jTKEn5u\n"
    "-----END RSA PRIVATE KEY-----"
)

SECRETS = {
    "bearer": "opaque-bearer-7c1f0e2a9b8d4c6e",
    "basic": base64.b64encode(b"alice:s3cret-basic-pass").decode(),
    "proxy-auth": base64.b64encode(b"proxyuser:proxy-pass-91").decode(),
    "cookie": "sess-4f8a2c1e9d7b6a5f",
    "set-cookie": "srv-9e8d7c6b5a4f3e2d",
    "api-key-header": "hdr-key-2b4d6f8h0j2l4n6p",
    "aws-session-token": "FwoGZXIvYXdzEXAMPLESESSIONTOKEN0123456789",
    "aws-signature": "f" * 64,
    "client-secret": "cs-8a7b6c5d4e3f2a1b",
    "auth-code": "code-0a9b8c7d6e5f",
    "code-verifier": "verifier-" + "v" * 40,
    "refresh-token": "rt-1a2b3c4d5e6f7a8b9c0d",
    "access-jwt": ACCESS_JWT,
    "id-jwt": ID_JWT,
    "assertion-jwt": ASSERTION_JWT,
    "aws-access-key-id": "AKIAIOSFODNN7EXAMPLE",
    "github": "ghp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "slack": "xoxb-123456789012-123456789012-AbCdEfGhIjKlMnOpQrStUvWx",
    "stripe": "sk_live_" + "4eC39HqLyjWDarjtT1zdp7dc",
    "google": "AIza" + "SyA-1234567890abcdefghijklmnopqrstu",
    "pem": PEM,
    "json-password": "hunter2-json-password",
    "api-key-query": "qk-5e6f7a8b9c0d1e2f",
    # found by the hardening of #13: each reached the database in clear
    "path-stripe": "sk_live_" + "PathKey0123456789abcdEF",
    "path-jwt": PATH_JWT,
    "rapidapi-key": "rapid-3c4d5e6f7a8b9c0d1e2f",
    "x-auth-key": "c2547eb745079dac9320b638f5e225cf483cc",
    "apim-key": "apim-0f1e2d3c4b5a69788796a5b4",
    "x-authorization": base64.b64encode(b"bob:x-authorization-pass").decode(),
    "query-auth-token": "qat-1b2c3d4e5f6a7b8c",
    "query-private-token": "qpt-9a8b7c6d5e4f3a2b",
    "query-api-key-kebab": "qak-7e6d5c4b3a291807",
    "bare-stripe": "sk_test_" + "BareQueryKey0123456789ab",
    "camel-client-secret": "ccs-5a4b3c2d1e0f9a8b",
    "camel-access-token": "cat-0a1b2c3d4e5f6a7b",
    "kebab-refresh-token": "krt-8b9c0d1e2f3a4b5c",
    "latin1-json-password": "l1-json-pass-4d3c2b1a",
    "latin1-form-password": "l1-form-pass-6f5e4d3c",
    "deep-json-password": "deep-json-pass-0e1f2a3b",
}
"""Kind -> secret value. None of these may survive redaction."""


NOT_SECRETS = {
    "secret": "https://github.githubassets.com/images/icons/emoji/unicode/3299.png?v8",
    "verification": {
        "verified": True,
        "signature": "-----BEGIN PGP SIGNATURE-----\n\nwsBcBAABCAAQBQJ=\n"
        "-----END PGP SIGNATURE-----",
    },
    "content": [{"type": "thinking", "thinking": "Hm.", "signature": "ErcHCkYIBxgCKkBZJZKmgqTG"}],
    "user": {"login": "ada", "password": "*****"},
}
"""Values under secret-sounding names that are no credentials: replayed byte for byte."""


def planted() -> list[Interaction]:
    """Interactions carrying every secret of SECRETS, where real traffic carries them."""
    s = SECRETS
    host = ("https", "api.example.com", 443)
    token_form = urlencode(
        {
            "grant_type": "authorization_code",
            "code": s["auth-code"],
            "code_verifier": s["code-verifier"],
            "client_id": "client-1",
            "client_secret": s["client-secret"],
            "client_assertion": s["assertion-jwt"],
        }
    ).encode()
    token_response = json.dumps(
        {
            "access_token": s["access-jwt"],
            "id_token": s["id-jwt"],
            "refresh_token": s["refresh-token"],
            "token_type": "Bearer",
            "expires_in": 120,
        },
        indent=2,
    ).encode()
    return [
        Interaction(
            Request(
                "POST",
                *host,
                "/oauth/token",
                "",
                (
                    ("Content-Type", "application/x-www-form-urlencoded"),
                    ("Authorization", f"Basic {s['basic']}"),
                ),
                token_form,
            ),
            Response(
                200,
                "OK",
                (
                    ("Content-Type", "application/json"),
                    ("Set-Cookie", f"sid={s['set-cookie']}; Path=/; HttpOnly"),
                ),
                token_response,
            ),
        ),
        Interaction(
            Request(
                "GET",
                *host,
                "/v1/me",
                f"api_key={s['api-key-query']}&fields=name",
                (
                    ("Authorization", f"Bearer {s['bearer']}"),
                    ("Cookie", f"theme=dark; session={s['cookie']}"),
                    ("X-Api-Key", s["api-key-header"]),
                    ("Proxy-Authorization", f"Basic {s['proxy-auth']}"),
                ),
            ),
            Response(
                200,
                "OK",
                (("Content-Type", "application/json"),),
                orjson.dumps({"name": "Ada", "deploy_key": s["pem"], "note": f"use {s['github']}"}),
            ),
        ),
        Interaction(
            Request(
                "GET",
                "https",
                "bucket.s3.amazonaws.com",
                443,
                "/report.csv",
                f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential={s['aws-access-key-id']}%2F20261125%2Fus-east-1%2Fs3%2Faws4_request"
                f"&X-Amz-Date=20261125T000000Z&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature={s['aws-signature']}",
                (("X-Amz-Security-Token", s["aws-session-token"]),),
            ),
            Response(200, "OK", (("Content-Type", "text/csv"),), b"a,b\n1,2\n"),
        ),
        Interaction(
            Request(
                "POST",
                *host,
                "/v1/users",
                "",
                (("Content-Type", "application/json"),),
                orjson.dumps({"email": "ada@example.com", "password": s["json-password"]}),
            ),
            Response(
                201,
                "Created",
                (("Content-Type", "text/plain"),),
                f"welcome; slack {s['slack']} stripe {s['stripe']} google {s['google']}".encode(),
            ),
        ),
        *hardened(),
    ]


def hardened() -> list[Interaction]:
    """The places #13 found secrets slipping through: the URL path, headers named by their
    words, camelCase JSON, odd query parameters, bodies that are not UTF-8 or nest deep."""
    s = SECRETS
    host = ("https", "api.example.com", 443)
    json_type = ("Content-Type", "application/json")
    query = (
        f"auth_token={s['query-auth-token']}&private_token={s['query-private-token']}"
        f"&api-key={s['query-api-key-kebab']}&{s['bare-stripe']}&page=2"
    )
    deep = 1000
    return [
        Interaction(
            Request(
                "GET",
                *host,
                f"/v1/keys/{s['path-stripe']}/jwt/{s['path-jwt']}",
                query,
                (
                    ("X-RapidAPI-Key", s["rapidapi-key"]),
                    ("X-Auth-Key", s["x-auth-key"]),
                    ("Ocp-Apim-Subscription-Key", s["apim-key"]),
                    ("X-Authorization", f"Basic {s['x-authorization']}"),
                ),
            ),
            Response(
                200,
                "OK",
                (json_type,),
                orjson.dumps(
                    {
                        "clientSecret": s["camel-client-secret"],
                        "accessToken": s["camel-access-token"],
                        "refresh-token": s["kebab-refresh-token"],
                        "tokenType": "Bearer",
                    }
                ),
            ),
        ),
        Interaction(
            Request(
                "POST",
                *host,
                "/v1/sessions",
                "",
                (json_type,),
                b'{"user": "ren\xe9", "password": "' + s["latin1-json-password"].encode() + b'"}',
            ),
            Response(200, "OK", (json_type,), orjson.dumps(NOT_SECRETS)),
        ),
        Interaction(
            Request(
                "POST",
                *host,
                "/v1/legacy-login",
                "",
                (("Content-Type", "application/x-www-form-urlencoded"),),
                b"name=Ren\xe9&password=" + s["latin1-form-password"].encode(),
            ),
            Response(204, "No Content"),
        ),
        Interaction(
            Request(
                "POST",
                *host,
                "/v1/deep",
                "",
                (json_type,),
                b'{"a": ' * deep
                + b'{"password": "'
                + s["deep-json-password"].encode()
                + b'"}'
                + b"}" * deep,
            ),
            Response(200, "OK", (json_type,), b'{"ok": true}'),
        ),
    ]
