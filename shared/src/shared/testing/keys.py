"""Test keys and access tokens, made the way the auth service makes them."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from shared.tokens import jwk_thumbprint


@dataclass(frozen=True)
class SigningKey:
    """A test RSA key pair, with the public half written where `JWT_PUBLIC_KEYS` can point."""

    private_key: RSAPrivateKey
    public_pem: Path
    private_pem: Path

    @classmethod
    def create(cls, folder: Path) -> SigningKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        folder.mkdir(parents=True, exist_ok=True)
        public_pem, private_pem = folder / "public.pem", folder / "private.pem"
        public_pem.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
        private_pem.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return cls(key, public_pem, private_pem)

    def token(
        self,
        subject: uuid.UUID | str,
        *,
        issuer: str = "https://auth.suite.local",
        audience: str = "suite-api",
        roles: Iterable[str] = (),
        lifetime: int = 300,
        session_id: str | None = None,
    ) -> str:
        """An access token as auth issues it: RS256, typ at+jwt, kid = the key's thumbprint."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": issuer,
            "aud": audience,
            "sub": str(subject),
            "roles": list(roles),
            "iat": now - 5,
            "exp": now + lifetime,
            "sid": session_id or uuid.uuid4().hex,
        }
        headers = {"kid": jwk_thumbprint(self.private_key.public_key()), "typ": "at+jwt"}
        return jwt.encode(claims, self.private_key, algorithm="RS256", headers=headers)

    def headers(self, subject: uuid.UUID | str, **kwargs: Any) -> dict[str, str]:
        """`Authorization: Bearer ...` for `subject`."""
        return {"Authorization": f"Bearer {self.token(subject, **kwargs)}"}


def bad_credentials(kind: str, key: SigningKey, folder: Path, **claims: Any) -> dict[str, str]:
    """Headers of one `kind` that must not authenticate; a foreign key is written to `folder`."""
    user = uuid.uuid4()
    if kind == "missing":
        return {}
    if kind == "not_bearer":
        return {"Authorization": f"Basic {key.token(user, **claims)}"}
    if kind == "garbage":
        return {"Authorization": "Bearer not.a.token"}
    if kind == "expired":
        return key.headers(user, lifetime=-120, **claims)
    if kind == "wrong_audience":
        return key.headers(user, audience="another-api", **claims)
    if kind == "foreign_key":
        return SigningKey.create(folder).headers(user, **claims)
    raise ValueError(f"unknown kind of bad credentials: {kind}")
