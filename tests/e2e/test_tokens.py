"""Recorded tokens do not expire: a real OAuth2/OIDC provider issuing two-minute RS256 JWTs and a
resource server that checks them against the provider's JWKS are recorded through virt, switched
off, and replayed with virt's clock a day later (libfaketime). The client verifies every token
locally, against the JWKS it fetches, at that later time: all of it passes, every call succeeds.
"""

from __future__ import annotations

import base64
import glob
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import ExpiredTokenError
from joserfc.jwk import KeySet, RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from tests.conftest import Virt
from tests.helpers import Upstream

DAY = 86_400
LIFETIME = 120
CLIENT = {"client_id": "orders-client", "client_secret": "cs-5f4e3d2c1b0a9f8e"}
ORDERS = [{"id": "ord_1001", "total": 42}, {"id": "ord_1002", "total": 7}]


def verified(token: str, jwks: dict[str, Any], now: int | None = None, **claims: Any) -> Any:
    """The claims of `token` once its signature checks out against `jwks` and its time claims
    (and the `claims` given, such as iss and aud) against the clock at `now`."""
    decoded = jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])
    options = {k: {"essential": True, "value": v} for k, v in claims.items()}
    jwt.JWTClaimsRegistry(now=now, **options).validate(decoded.claims)
    return decoded.claims


def faketime_env(offset: str) -> dict[str, str]:
    libs = glob.glob("/usr/lib/*/faketime/libfaketime.so.1") + glob.glob(
        "/usr/lib/faketime/libfaketime.so.1"
    )
    if not libs:
        pytest.fail("libfaketime is missing: make test installs it (apt-get install faketime)")
    return {"LD_PRELOAD": libs[0], "FAKETIME": offset, "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def provider_app(base: list[str]) -> Starlette:
    """An OIDC provider: discovery, JWKS, and a client-credentials token endpoint."""
    key = RSAKey.generate_key(2048, parameters={"kid": "provider-1", "use": "sig", "alg": "RS256"})

    async def discovery(request: Request) -> JSONResponse:
        return JSONResponse(
            {
                "issuer": base[0],
                "token_endpoint": f"{base[0]}/oauth/token",
                "jwks_uri": f"{base[0]}/.well-known/jwks.json",
                "id_token_signing_alg_values_supported": ["RS256"],
            }
        )

    async def jwks(request: Request) -> JSONResponse:
        return JSONResponse({"keys": [key.as_dict(private=False)]})

    async def token(request: Request) -> JSONResponse:
        form = dict(parse_qsl((await request.body()).decode()))
        if (form.get("client_id"), form.get("client_secret")) != tuple(CLIENT.values()):
            return JSONResponse({"error": "invalid_client"}, 401)
        now = int(time.time())
        claims = {
            "iss": base[0],
            "sub": form["client_id"],
            "aud": "orders-api",
            "scope": "orders:read",
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME,
        }
        # an RFC 9068 access token: its typ is checked by validators that follow the RFC
        access = jwt.encode({"alg": "RS256", "kid": "provider-1", "typ": "at+jwt"}, claims, key)
        return JSONResponse(
            {"access_token": access, "token_type": "Bearer", "expires_in": LIFETIME}
        )

    return Starlette(
        routes=[
            Route("/.well-known/openid-configuration", discovery),
            Route("/.well-known/jwks.json", jwks),
            Route("/oauth/token", token, methods=["POST"]),
        ]
    )


def resource_app(provider: list[str]) -> Starlette:
    """An API that accepts only tokens that verify against the provider's JWKS, now."""

    async def orders(request: Request) -> JSONResponse:
        auth = request.headers.get("authorization", "")
        keys = httpx.get(f"{provider[0]}/.well-known/jwks.json").json()
        try:
            claims = verified(auth.removeprefix("Bearer "), keys)
        except Exception as e:
            return JSONResponse({"error": f"invalid token: {e}"}, 401)
        if "id" in request.path_params:
            found = [o for o in ORDERS if o["id"] == request.path_params["id"]]
            return JSONResponse(found[0])
        return JSONResponse({"orders": ORDERS, "for": claims["sub"]})

    return Starlette(routes=[Route("/orders", orders), Route("/orders/{id}", orders)])


@dataclass
class Session:
    """What the client saw, and every token it verified."""

    orders: Any
    order: Any
    tokens: list[str]


def client_session(client: httpx.Client, issuer: str, api: str, ahead: float = 0) -> Session:
    """The client: discovery, JWKS, a token it verifies locally with its clock `ahead` seconds
    ahead of the real one, then two API calls."""
    meta = client.get(f"{issuer}/.well-known/openid-configuration").json()
    keys = client.get(meta["jwks_uri"]).json()
    tokens = []
    for _ in range(2):  # a second token, as a client refreshing it would fetch
        resp = client.post(meta["token_endpoint"], data=CLIENT)
        resp.raise_for_status()
        access = resp.json()["access_token"]
        # signature, exp, nbf and iat by the client's clock; issuer and audience as announced
        verified(access, keys, int(time.time() + ahead), iss=meta["issuer"], aud="orders-api")
        tokens.append(access)
    bearer = {"Authorization": f"Bearer {tokens[-1]}"}
    orders = client.get(f"{api}/orders", headers=bearer)
    order = client.get(f"{api}/orders/ord_1002", headers=bearer)
    assert (orders.status_code, order.status_code) == (200, 200), (orders.text, order.text)
    return Session(orders.json(), order.json(), tokens)


@dataclass
class Recorded:
    db: Path
    issuer: str
    api: str
    session: Session
    recorded_at: float


@pytest.fixture
def recorded(virt: Virt, tmp_path: Path) -> Iterator[Recorded]:
    issuer: list[str] = []
    provider = Upstream(provider_app(issuer)).start()
    issuer.append(provider.url)
    api = Upstream(resource_app(issuer)).start()
    db = tmp_path / "oauth.db"
    proc, port = virt.record(db)
    try:
        with httpx.Client(proxy=f"http://127.0.0.1:{port}", timeout=10) as client:
            session = client_session(client, provider.url, api.url)
    finally:
        assert proc.stop() == 0, proc.output()
        provider.stop()
        api.stop()
    yield Recorded(db, provider.url, api.url, session, time.time())


def test_a_day_later_minted_tokens_verify_against_the_served_jwks_and_every_call_succeeds(
    virt: Virt, recorded: Recorded
) -> None:
    _, port, proxy_port = virt.serve(recorded.db, env=faketime_env("+1d"))
    later = recorded.recorded_at + DAY
    with httpx.Client(proxy=f"http://127.0.0.1:{proxy_port}", timeout=10) as client:
        replayed = client_session(client, recorded.issuer, recorded.api, ahead=DAY)
        served = client.get(f"{recorded.issuer}/.well-known/jwks.json").json()
    assert replayed.orders == recorded.session.orders
    assert replayed.order == recorded.session.order
    assert [k["kid"] for k in served["keys"]] != ["provider-1"]  # virt's key, not the provider's
    for token in replayed.tokens:
        claims = verified(token, served, int(time.time() + DAY))
        assert claims["exp"] - claims["iat"] == LIFETIME  # the recorded lifetime, kept
        assert abs(claims["iat"] - later) < 120  # issued at virt's (a day later) now
        assert (claims["sub"], claims["scope"]) == ("orders-client", "orders:read")
        assert header_of(token) == {
            "alg": "RS256",
            "kid": served["keys"][0]["kid"],
            "typ": "at+jwt",
        }
    # the recorded token would not do: by the client's clock it expired a day ago
    with pytest.raises(ExpiredTokenError):
        jwt.JWTClaimsRegistry(now=int(later)).validate(claims_of(recorded.session.tokens[0]))
    journal = httpx.get(f"http://127.0.0.1:{port}/__virt/journal").json()["entries"]
    assert {e["match"] for e in journal} <= {"exact", "fuzzy"}
    minted = [e["explain"]["tokens"] for e in journal if (e["explain"] or {}).get("tokens")]
    assert {"minted": 1} in minted and any("jwks" in m for m in minted)


def header_of(token: str) -> dict[str, Any]:
    """A token's header, as a validator reads it before checking the signature."""
    return dict(json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "==")))


def claims_of(token: str) -> dict[str, Any]:
    """A token's claims, unverified: its signing key left with the provider."""
    payload = base64.urlsafe_b64decode(token.split(".")[1] + "==")
    return dict(json.loads(payload))
