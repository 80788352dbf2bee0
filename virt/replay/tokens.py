"""Tokens at replay: recorded JWTs minted afresh, and JWKS answered with virt's own key.

A recorded response keeps a JWT's header and claims without its signature (virt.redact). At
replay each such JWT is signed again with an RSA key that virt owns, its time claims (iat, nbf,
exp, auth_time) moved to now with the recorded lifetime kept; a recorded JWKS is answered with
virt's public key instead. So a service that verifies tokens locally against the provider's JWKS
accepts them a day or a year after recording.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import os
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from virt.errors import ConfigError
from virt.model import Interaction

log = logging.getLogger("virt.replay")

KEY_FILE = "virt-token-key.pem"
"""In virt's confdir, next to the CA: every virt serve sharing the confdir signs alike."""
REDACTED_JWT = re.compile(rb"(eyJ[A-Za-z0-9_-]*)\.(eyJ[A-Za-z0-9_-]*)\.<secret:[0-9a-f]{8}>")
TIME_CLAIMS = ("iat", "nbf", "exp", "auth_time")
PROVIDER_KEY_PARAMS = frozenset({"jku", "jwk", "x5u", "x5c", "x5t", "x5t#S256"})
"""Header parameters that point at the provider's key: a minted token is not signed by it."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str | bytes) -> bytes:
    raw = text.encode() if isinstance(text, str) else text
    return base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))


class Minter:
    """Signs JWTs with virt's RSA key and publishes that key as a JWKS."""

    def __init__(self, key: rsa.RSAPrivateKey) -> None:
        self.key = key
        public = key.public_key().public_numbers()
        self._n = _b64(public.n.to_bytes((public.n.bit_length() + 7) // 8, "big"))
        self._e = _b64(public.e.to_bytes((public.e.bit_length() + 7) // 8, "big"))
        der = key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.kid = "virt-" + hashlib.sha256(der).hexdigest()[:16]

    def __repr__(self) -> str:
        return f"<Minter kid={self.kid}>"  # never the private key

    @classmethod
    def load(cls, confdir: Path) -> Minter:
        """virt's signing key from `confdir`, created (mode 0600) on first use."""
        path = confdir / KEY_FILE
        try:
            pem = path.read_bytes()
        except FileNotFoundError:
            key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                confdir.mkdir(parents=True, exist_ok=True)
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:
                return cls.load(confdir)  # another virt made it meanwhile: use theirs
            except OSError as e:
                raise ConfigError(
                    f"cannot create the token signing key {path}: {e.strerror}",
                    hint="pass a writable --confdir",
                ) from e
            with os.fdopen(fd, "wb") as f:
                f.write(pem)
            return cls(key)
        except OSError as e:
            raise ConfigError(f"cannot read the token signing key {path}: {e.strerror}") from e
        loaded = serialization.load_pem_private_key(pem, password=None)
        if not isinstance(loaded, rsa.RSAPrivateKey):
            raise ConfigError(
                f"{path} is not an RSA private key", hint="delete it to make a new one"
            )
        return cls(loaded)

    def jwks(self) -> dict[str, Any]:
        """The JWKS that verifies every token virt mints."""
        return {
            "keys": [
                {
                    "kty": "RSA",
                    "use": "sig",
                    "alg": "RS256",
                    "kid": self.kid,
                    "n": self._n,
                    "e": self._e,
                }
            ]
        }

    def mint(
        self,
        claims: dict[str, Any],
        now: float,
        recorded: float | None = None,
        header: dict[str, Any] | None = None,
    ) -> str:
        """A JWT with `claims`, its time claims moved so that it was issued `now` (or, without
        iat and nbf, so that it is as far from expiring as when it was `recorded`).

        The recorded `header` is kept (`typ: at+jwt` matters to an RFC 9068 validator) but for
        what virt's key changes: `alg` and `kid`, and the parameters naming the provider's key.
        """
        shifted = dict(claims)
        anchor = claims.get("iat", claims.get("nbf", recorded))
        if isinstance(anchor, int | float) and not isinstance(anchor, bool):
            delta = now - anchor
            for name in TIME_CLAIMS:
                value = claims.get(name)
                if isinstance(value, int | float) and not isinstance(value, bool):
                    shifted[name] = int(value + delta)
        fields = {"alg": "RS256", "typ": "JWT"} if header is None else dict(header)
        fields = {k: v for k, v in fields.items() if k not in PROVIDER_KEY_PARAMS}
        fields["alg"] = "RS256"
        fields["kid"] = self.kid
        head = _b64(orjson.dumps(fields))
        body = _b64(orjson.dumps(shifted))
        signing_input = f"{head}.{body}".encode()
        signature = self.key.sign(signing_input, padding.PKCS1v15(), hashes.SHA256())
        return f"{head}.{body}.{_b64(signature)}"

    def apply(self, interaction: Interaction, now: float) -> tuple[Interaction, dict[str, Any]]:
        """`interaction` with its recorded JWTs minted afresh and a recorded JWKS replaced by
        virt's; also what was done, for the journal (empty when nothing)."""
        resp = interaction.response
        body = resp.body
        done: dict[str, Any] = {}
        if _is_jwks(body):
            body = orjson.dumps(self.jwks())
            done["jwks"] = self.kid
        else:
            minted = 0

            def fresh(m: re.Match[bytes]) -> bytes:
                nonlocal minted
                try:
                    head = orjson.loads(_unb64(m.group(1)))
                    claims = orjson.loads(_unb64(m.group(2)))
                except (ValueError, orjson.JSONDecodeError):
                    return m.group(0)
                if not isinstance(claims, dict) or not isinstance(head, dict):
                    return m.group(0)
                minted += 1
                recorded = _epoch(interaction.recorded_at)
                return self.mint(claims, now, recorded, header=head).encode()

            if b"<secret:" in body:
                body = REDACTED_JWT.sub(fresh, body)
            if minted:
                done["minted"] = minted
        if not done:
            return interaction, done
        new = replace(resp, body=body, wire_body=None)
        return replace(interaction, response=new), done


def _epoch(iso: str) -> float | None:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _is_jwks(body: bytes) -> bool:
    """A JSON Web Key Set: {"keys": [{"kty": ...}, ...]}."""
    if b'"keys"' not in body or b'"kty"' not in body:
        return False
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return False
    keys = data.get("keys") if isinstance(data, dict) else None
    return (
        isinstance(keys, list)
        and bool(keys)
        and all(isinstance(k, dict) and "kty" in k for k in keys)
    )
