"""Fixtures for the users service: a migrated database, the app in-process, tokens, profiles.

Each test runs inside one transaction rolled back at the end; the service's own commits become
savepoints within it (`join_transaction_mode="create_savepoint"`), so tests never see each other.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import UserRegistered
from shared.events import Envelope
from shared.migrations import upgrade_to_head
from shared.tokens import jwk_thumbprint
from shared.web.problems import PROBLEM_JSON
from users_service.consumers import on_user_registered
from users_service.main import MIGRATIONS_DIR, create_app
from users_service.models import EVENT_TABLES
from users_service.settings import Settings

Sessions = async_sessionmaker[AsyncSession]


def asyncpg_url(url: str) -> str:
    return "postgresql+asyncpg://" + url.partition("://")[2]


@pytest.fixture(scope="session")
def migrated_users_database(database_factory: Callable[[str], str]) -> Callable[[str], str]:
    """A fresh database at the users migrations head; returns its postgresql:// URL."""

    def create(label: str) -> str:
        url = database_factory(label)
        # upgrade_to_head runs its own event loop: keep it off the test's loop.
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(upgrade_to_head, MIGRATIONS_DIR, asyncpg_url(url)).result(timeout=60)
        return url

    return create


@pytest.fixture(scope="session")
def signing_key() -> RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def users_settings(
    servers: Any,
    migrated_users_database: Callable[[str], str],
    signing_key: RSAPrivateKey,
    tmp_path_factory: pytest.TempPathFactory,
) -> Settings:
    key_path: Path = tmp_path_factory.mktemp("users-keys") / "public.pem"
    key_path.write_bytes(
        signing_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return Settings(
        database_url=migrated_users_database("users"),
        amqp_url=servers.amqp_url,
        jwt_public_keys=str(key_path),
        run_workers=False,
        environment="test",
    )


@pytest.fixture(scope="session")
async def users_app(users_settings: Settings) -> AsyncIterator[FastAPI]:
    app = create_app(users_settings)
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sessions(users_app: FastAPI) -> AsyncIterator[Sessions]:
    """The app's session factory for this test, bound to one transaction that is rolled back."""
    runtime = users_app.state.runtime
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


@pytest.fixture
async def client(users_app: FastAPI, sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=users_app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
        yield http


@pytest.fixture
def mint(signing_key: RSAPrivateKey, users_settings: Settings) -> Callable[..., str]:
    """An access token as auth issues it: RS256, typ at+jwt, kid = the key's thumbprint."""

    def build(
        subject: uuid.UUID | str,
        *,
        roles: Iterable[str] = (),
        key: RSAPrivateKey | None = None,
        lifetime: int = 300,
    ) -> str:
        key = key or signing_key
        now = int(time.time())
        claims = {
            "iss": users_settings.jwt_issuer,
            "aud": users_settings.jwt_audience,
            "sub": str(subject),
            "roles": list(roles),
            "iat": now - 5,
            "exp": now + lifetime,
        }
        headers = {"kid": jwk_thumbprint(key.public_key()), "typ": "at+jwt"}
        return jwt.encode(claims, key, algorithm="RS256", headers=headers)

    return build


@pytest.fixture
def auth(mint: Callable[..., str]) -> Callable[..., dict[str, str]]:
    """Authorization headers for `subject` (with `roles`)."""

    def build(subject: uuid.UUID | str, *, roles: Iterable[str] = ()) -> dict[str, str]:
        return {"Authorization": f"Bearer {mint(subject, roles=roles)}"}

    return build


@pytest.fixture
def register(sessions: Sessions) -> Callable[..., Awaitable[uuid.UUID]]:
    """Deliver a `user.registered` to the handler, in a transaction as the consumer runs it."""

    async def deliver(
        user_id: uuid.UUID | None = None, *, email: str | None = None, username: str | None = None
    ) -> uuid.UUID:
        user_id = user_id or uuid.uuid4()
        event = UserRegistered(
            user_id=user_id,
            email=email or f"{user_id.hex[:8]}@example.com",
            username=username or f"user_{user_id.hex[:8]}",
        )
        async with sessions() as session, session.begin():
            await on_user_registered(session, event, Envelope.wrap(event, producer="auth"))
        return user_id

    return deliver


@pytest.fixture
def outbox(sessions: Sessions) -> Callable[[str], Awaitable[list[dict[str, Any]]]]:
    """The envelopes of one event type waiting in the users outbox, oldest first."""

    async def envelopes(event_type: str) -> list[dict[str, Any]]:
        table = EVENT_TABLES.outbox
        query = (
            select(table.c.envelope).where(table.c.type == event_type).order_by(table.c.created_at)
        )
        async with sessions() as session:
            return list((await session.scalars(query)).all())

    return envelopes


@pytest.fixture
def problem() -> Callable[[httpx.Response, int, str], dict[str, Any]]:
    """Assert a problem+json answer with this status and code; returns its body."""

    def check(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == PROBLEM_JSON
        body: dict[str, Any] = response.json()
        assert (body["status"], body["code"]) == (status, code), body
        return body

    return check
