"""Fixtures for the auth service: keys, a migrated database, and the app running in-process."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_service.main import MIGRATIONS_DIR, create_app
from auth_service.settings import Settings
from shared.migrations import upgrade_to_head

STRONG_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def auth_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    folder = tmp_path_factory.mktemp("auth-keys")
    private, public = folder / "private.pem", folder / "public.pem"
    private.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    return {"key": key, "private": private, "public": public}


@pytest.fixture(scope="module")
def auth_database(database_factory: Callable[[str], str]) -> str:
    url = database_factory("auth")
    asyncpg_url = "postgresql+asyncpg://" + url.partition("://")[2]
    with ThreadPoolExecutor(max_workers=1) as pool:  # alembic runs its own event loop
        pool.submit(upgrade_to_head, MIGRATIONS_DIR, asyncpg_url).result(timeout=60)
    return url


@pytest.fixture(scope="module")
def make_settings(
    servers: Any, auth_database: str, auth_keys: dict[str, Any]
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "environment": "test",
            "database_url": auth_database,
            "amqp_url": servers.amqp_url,
            "redis_url": servers.redis_url,
            "jwt_public_keys": str(auth_keys["public"]),
            "jwt_private_key": str(auth_keys["private"]),
            "refresh_reuse_grace_seconds": 0,
            "outbox_poll_seconds": 0.5,
            **overrides,
        }
        return Settings(**values)

    return make


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app with its lifespan, ready (revocations loaded), behind an in-process client."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app, client=("127.0.0.1", 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://auth.test") as client:
            deadline = time.monotonic() + 15
            while (await client.get("/health/readiness")).status_code != 200:
                assert time.monotonic() < deadline, "auth never became ready"
                await asyncio.sleep(0.05)
            yield client


@pytest.fixture(scope="module")
async def client(make_settings: Callable[..., Settings]) -> AsyncIterator[httpx.AsyncClient]:
    async with running(make_settings()) as client:
        yield client


@pytest.fixture(scope="module")
def run_app() -> Callable[[Settings], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start another app instance (another replica, other settings) inside a test."""
    return running
