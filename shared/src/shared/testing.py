"""Helpers for the services' own tests: keys and tokens as auth makes them, migrated databases,
per-test rolled-back sessions, and problem+json assertions. Never imported by runtime code."""

from __future__ import annotations

import contextlib
import time
import uuid
from collections.abc import AsyncIterator, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.migrations import upgrade_to_head
from shared.tokens import jwk_thumbprint
from shared.web.problems import PROBLEM_JSON


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


def migrate(database_url: str, migrations_dir: Path) -> None:
    """Bring a postgresql:// database to a service's head (alembic runs its own event loop)."""
    asyncpg_url = "postgresql+asyncpg://" + database_url.partition("://")[2]
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(upgrade_to_head, migrations_dir, asyncpg_url).result(timeout=120)


@contextlib.asynccontextmanager
async def rolled_back(runtime: Any) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Bind the app's sessions to one transaction rolled back at the end; the service's own
    commits become savepoints inside it, so tests never see each other's rows."""
    original = runtime.sessions
    async with runtime.engine.connect() as connection:
        transaction = await connection.begin()
        runtime.sessions = async_sessionmaker(
            bind=connection,
            expire_on_commit=False,
            autoflush=False,
            join_transaction_mode="create_savepoint",
        )
        try:
            yield runtime.sessions
        finally:
            runtime.sessions = original
            await transaction.rollback()


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status and code; returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON, response.headers
    body: dict[str, Any] = response.json()
    assert {"type", "title", "status", "detail", "code", "request_id"} <= body.keys(), body
    assert (body["status"], body["code"]) == (status, code), body
    return body
