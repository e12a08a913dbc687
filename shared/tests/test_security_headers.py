"""Headers a security reviewer expects on every answer, and CORS only for origins allowed."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from shared.testing import SigningKey, running, service_settings
from todos_service.main import create_app
from todos_service.settings import Settings

APP_ORIGIN = "https://app.example"


@pytest.fixture(scope="module")
def migrated_url(migrated_database_factory: Callable[[str], str]) -> str:
    return migrated_database_factory("headers")


@contextlib.asynccontextmanager
async def started(
    servers: Any, key: SigningKey, url: str, **overrides: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = service_settings(
        Settings, database_url=url, amqp_url=servers.amqp_url, key=key, **overrides
    )
    async with running(create_app(settings)) as client:
        yield client


def preflight(origin: str) -> dict[str, str]:
    return {
        "Origin": origin,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }


async def test_every_answer_is_neither_sniffed_nor_framed(
    servers: Any, service_key: SigningKey, migrated_url: str
) -> None:
    async with started(servers, service_key, migrated_url) as client:
        answers = [
            await client.get("/api/v1/todos/ping"),  # a 401 problem
            await client.get("/health/liveness"),
            await client.get("/api/v1/todos/docs"),
            await client.get("/nowhere"),
        ]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff", answer.request.url
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"] == "frame-ancestors 'none'"


async def test_cors_is_off_by_default(
    servers: Any, service_key: SigningKey, migrated_url: str
) -> None:
    async with started(servers, service_key, migrated_url) as client:
        answer = await client.options("/api/v1/todos", headers=preflight(APP_ORIGIN))
        simple = await client.get("/api/v1/todos/ping", headers={"Origin": APP_ORIGIN})
    assert "access-control-allow-origin" not in answer.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_answers_only_the_origins_allowed(
    servers: Any, service_key: SigningKey, migrated_url: str
) -> None:
    allowed = f"{APP_ORIGIN},http://localhost:5173"
    async with started(servers, service_key, migrated_url, cors_allowed_origins=allowed) as client:
        granted = await client.options("/api/v1/todos", headers=preflight(APP_ORIGIN))
        refused = await client.options("/api/v1/todos", headers=preflight("https://evil.example"))
        simple = await client.get("/api/v1/todos/ping", headers={"Origin": APP_ORIGIN})
    assert granted.status_code == 200
    assert granted.headers["access-control-allow-origin"] == APP_ORIGIN
    assert granted.headers["access-control-allow-credentials"] == "true"
    assert "authorization" in granted.headers["access-control-allow-headers"].lower()
    assert granted.headers["x-request-id"]
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert simple.headers["access-control-allow-origin"] == APP_ORIGIN
    assert "x-request-id" in simple.headers["access-control-expose-headers"].lower()


@pytest.mark.parametrize("origins", ["*", "https://*.example", "app.example", "https://a.example/"])
def test_only_exact_origins_are_accepted(origins: str, service_key: SigningKey) -> None:
    with pytest.raises(ValidationError, match="exact origin"):
        Settings(
            database_url="postgresql://u:p@127.0.0.1/db",
            jwt_public_keys=str(service_key.public_pem),
            cors_allowed_origins=origins,
        )
