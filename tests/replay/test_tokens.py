"""Minting: a recorded JWT signed afresh by virt keeps its recorded header but for what virt's
key changes."""

from __future__ import annotations

import base64
from pathlib import Path

import orjson
from joserfc import jwt
from joserfc.jwk import KeySet

from virt.model import Interaction, Request, Response
from virt.redact import Redactor
from virt.replay.tokens import Minter


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def header_of(token: str) -> dict[str, object]:
    raw = token.split(".")[0]
    return dict(orjson.loads(base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))))


def test_a_minted_token_keeps_the_recorded_typ_and_takes_virts_alg_and_kid(
    tmp_path: Path,
) -> None:
    recorded_header = {
        "kid": "okta-key-1",
        "typ": "application/okta-internal-at+jwt",
        "alg": "RS256",
        "x5t": "provider-thumbprint",
    }
    claims = {
        "sub": "u1",
        "iss": "https://okta.example",
        "iat": 1_700_000_000,
        "exp": 1_700_003_600,
    }
    token = f"{b64url(orjson.dumps(recorded_header))}.{b64url(orjson.dumps(claims))}.{'s' * 43}"
    stored = Redactor(b"k" * 32).interaction(
        Interaction(
            Request("POST", "https", "okta.example", 443, "/oauth2/v1/token"),
            Response(
                200,
                headers=(("Content-Type", "application/json"),),
                body=orjson.dumps({"access_token": token}),
            ),
        )
    )
    minter = Minter.load(tmp_path)
    replayed, done = minter.apply(stored, now=1_900_000_000)
    assert done == {"minted": 1}
    minted = orjson.loads(replayed.response.body)["access_token"]
    head = header_of(minted)
    assert head == {"kid": minter.kid, "typ": "application/okta-internal-at+jwt", "alg": "RS256"}
    decoded = jwt.decode(minted, KeySet.import_key_set(minter.jwks()), algorithms=["RS256"])
    assert decoded.claims["sub"] == "u1" and decoded.claims["iat"] == 1_900_000_000


def test_a_token_minted_without_a_recorded_header_is_a_plain_jwt(tmp_path: Path) -> None:
    minter = Minter.load(tmp_path)
    head = header_of(minter.mint({"sub": "u1"}, now=1_900_000_000))
    assert head == {"alg": "RS256", "typ": "JWT", "kid": minter.kid}
