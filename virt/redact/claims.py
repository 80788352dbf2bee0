"""JWT claims: what a redacted JWT keeps, and what its placeholder is keyed on.

The placeholder of a JWT ignores its time claims (iat, nbf, exp, auth_time, jti), so a token
minted at replay redacts to the same placeholder as the one it stands for.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

import orjson

__all__ = ["TIME_CLAIMS", "jwt_claims", "keyed_text"]

TIME_CLAIMS = frozenset({"iat", "nbf", "exp", "auth_time", "jti"})
"""Claims that differ between a recorded JWT and the one minted for it at replay."""


def jwt_claims(token: str) -> dict[str, Any] | None:
    """The claims of a JWT (its middle part), or None when it does not decode."""
    parts = token.split(".")
    if len(parts) < 2:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (binascii.Error, ValueError):
        return None
    return claims if isinstance(claims, dict) else None


def keyed_text(token: str) -> str:
    """What the placeholder of JWT `token` is keyed on: its claims without the time claims,
    sorted, or the token itself when its claims do not decode."""
    claims = jwt_claims(token)
    if claims is None:
        return token
    stable = {k: v for k, v in claims.items() if k not in TIME_CLAIMS}
    return "jwt:" + orjson.dumps(stable, option=orjson.OPT_SORT_KEYS).decode()
