"""Readiness of the real todos app against real (or really unreachable) servers."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from fastapi import FastAPI

from shared.tokens import jwk_thumbprint
from shared.web.problems import PROBLEM_JSON
from todos_service.main import create_app
from todos_service.settings import Settings


@pytest.fixture(scope="module")
def migrated_url(migrated_database_factory: Callable[[str], str]) -> str:
    return migrated_database_factory("health")


@pytest.fixture
def settings_for(servers: Any, public_key_path: Path) -> Callable[..., Settings]:
    def build(database_url: str, **overrides: Any) -> Settings:
        values = {
            "database_url": database_url,
            "amqp_url": servers.amqp_url,
            "jwt_public_keys": str(public_key_path),
            "run_workers": False,
            **overrides,
        }
        return Settings(**values)

    return build


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield app, client


def closed_url(scheme: str, port: int) -> str:
    return {
        "postgresql": f"postgresql://todos:pw@127.0.0.1:{port}/todos",
        "amqp": f"amqp://guest:guest@127.0.0.1:{port}/",
        "redis": f"redis://127.0.0.1:{port}/0",
    }[scheme]


async def probe(client: httpx.AsyncClient) -> tuple[int, dict[str, Any], int]:
    started = time.monotonic()
    readiness = await client.get("/health/readiness")
    assert time.monotonic() - started < 5, "a check outlived its timeout"
    liveness = await client.get("/health/liveness")
    assert liveness.json() == {"status": "alive"}
    return readiness.status_code, readiness.json(), liveness.status_code


async def test_ready_when_migrated_and_every_server_answers(
    settings_for: Callable[..., Settings], migrated_url: str, servers: Any
) -> None:
    async with running(settings_for(migrated_url, redis_url=servers.redis_url)) as (_, client):
        code, body, live = await probe(client)
    assert (code, body["status"], live) == (200, "ready", 200)
    assert {name: c["status"] for name, c in body["checks"].items()} == {
        "database": "up",
        "redis": "up",
        "broker": "up",
    }


@pytest.mark.parametrize("state", ["empty", "other_revision"])
async def test_database_off_the_migrations_head_is_not_ready(
    settings_for: Callable[..., Settings],
    database_factory: Callable[[str], str],
    migrated_database_factory: Callable[[str], str],
    state: str,
) -> None:
    if state == "empty":
        url = database_factory("empty")
    else:
        url = migrated_database_factory("stale")
        connection = await asyncpg.connect(url)
        try:
            await connection.execute("UPDATE alembic_version SET version_num = '0000aaaa0000'")
        finally:
            await connection.close()
    async with running(settings_for(url)) as (_, client):
        code, body, live = await probe(client)
    assert (code, body["status"], live) == (503, "unavailable", 200)
    assert body["checks"]["database"]["status"] == "down"
    if state == "other_revision":
        assert "0000aaaa0000" in body["checks"]["database"]["detail"]
    assert body["checks"]["broker"]["status"] == "up"


@pytest.mark.parametrize(
    ("outage", "code", "status", "down"),
    [
        ("database", 503, "unavailable", "database"),
        ("broker", 200, "degraded", "broker"),
        ("redis", 200, "degraded", "redis"),
    ],
)
async def test_outage(
    settings_for: Callable[..., Settings],
    migrated_url: str,
    servers: Any,
    closed_port: int,
    outage: str,
    code: int,
    status: str,
    down: str,
) -> None:
    overrides = {
        "database": {"database_url": closed_url("postgresql", closed_port)},
        "broker": {"amqp_url": closed_url("amqp", closed_port)},
        "redis": {"redis_url": closed_url("redis", closed_port)},
    }[outage]
    settings = settings_for(**{"database_url": migrated_url, **overrides})
    async with running(settings) as (_, client):
        got_code, body, live = await probe(client)
    assert (got_code, body["status"], live) == (code, status, 200)
    assert body["checks"][down]["status"] == "down"
    assert body["checks"][down]["detail"]
    assert all(c["status"] == "up" for name, c in body["checks"].items() if name != down)


async def test_draining_is_not_ready_even_when_healthy(
    settings_for: Callable[..., Settings], migrated_url: str
) -> None:
    async with running(settings_for(migrated_url)) as (app, client):
        assert (await probe(client))[0] == 200
        app.state.health.draining = True
        code, body, live = await probe(client)
    assert (code, body["status"], live) == (503, "draining", 200)


async def test_ping_answers_for_a_signed_token_and_refuses_none(
    settings_for: Callable[..., Settings], migrated_url: str, service_key: RSAPrivateKey
) -> None:
    settings = settings_for(migrated_url, replica="replica-a")
    now = int(time.time())
    token = jwt.encode(
        {
            "iss": settings.jwt_issuer,
            "aud": settings.jwt_audience,
            "sub": "user-42",
            "iat": now,
            "exp": now + 60,
        },
        service_key,
        algorithm="RS256",
        headers={"kid": jwk_thumbprint(service_key.public_key()), "typ": "at+jwt"},
    )
    async with running(settings) as (_, client):
        ok = await client.get("/api/v1/todos/ping", headers={"Authorization": f"Bearer {token}"})
        refused = await client.get("/api/v1/todos/ping")
    assert ok.status_code == 200, ok.text
    assert ok.json() == {"service": "todos", "replica": "replica-a", "subject": "user-42"}
    assert refused.status_code == 401
    assert refused.headers["content-type"] == PROBLEM_JSON
