"""Minting: RS256 access tokens (only auth holds the private key) and opaque refresh tokens."""

from __future__ import annotations

import hashlib
import secrets
import time
import uuid
from collections.abc import Iterable
from pathlib import Path

import jwt
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from shared.tokens import jwk_thumbprint

ACCESS_TOKEN_TYPE = "at+jwt"  # noqa: S105 - RFC 9068 media type; verifiers refuse any other


def load_private_key(source: str) -> RSAPrivateKey:
    """A PEM private key from a path or from the PEM text itself."""
    text = source if source.lstrip().startswith("-----BEGIN") else Path(source).read_text()
    key = load_pem_private_key(text.encode(), password=None)
    if not isinstance(key, RSAPrivateKey) or key.key_size < 2048:
        raise ValueError("the signing key must be an RSA private key of at least 2048 bits")
    return key


class TokenIssuer:
    """Signs access tokens with one key; its kid is the RFC 7638 thumbprint verifiers derive."""

    def __init__(
        self,
        *,
        private_key: RSAPrivateKey,
        issuer: str,
        audience: str,
        ttl_seconds: int,
        published_kids: Iterable[str],
    ) -> None:
        self.kid = jwk_thumbprint(private_key.public_key())
        if self.kid not in set(published_kids):
            # A token nobody can verify is worse than no token: refuse to start.
            raise ValueError(f"signing key {self.kid} is not in the published public key set")
        self._key = private_key
        self._issuer = issuer
        self._audience = audience
        self.ttl_seconds = ttl_seconds

    def access_token(
        self,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        roles: list[str],
        email_verified: bool = False,
        amr: list[str] | None = None,
    ) -> str:
        """A signed access token for this session, valid `ttl_seconds`."""
        now = int(time.time())
        claims = {
            "iss": self._issuer,
            "aud": self._audience,
            "sub": str(user_id),
            "iat": now,
            "nbf": now,
            "exp": now + self.ttl_seconds,
            "jti": uuid.uuid4().hex,
            "sid": str(session_id),
            "roles": sorted(roles),
            "email_verified": email_verified,
            "amr": amr or ["pwd"],
        }
        headers = {"kid": self.kid, "typ": ACCESS_TOKEN_TYPE}
        return jwt.encode(claims, self._key, algorithm="RS256", headers=headers)


def new_opaque_token() -> tuple[str, bytes]:
    """A fresh opaque token (refresh, email link) and the hash that is all the database keeps."""
    token = secrets.token_urlsafe(32)
    return token, hash_opaque_token(token)


def hash_opaque_token(token: str) -> bytes:
    # 256 random bits need no slow hash: SHA-256 keeps a database leak from yielding tokens.
    return hashlib.sha256(token.encode()).digest()
