"""Settings come from the service's own env prefix and refuse unsafe values."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pydantic import ValidationError

from todos_service.settings import Settings

DB = "postgresql://todos:pw@127.0.0.1:5432/todos"
REQUIRED: dict[str, Any] = {"database_url": DB, "jwt_public_keys": "/keys/public.pem"}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.startswith(("TODOS_", "USERS_")) or name in {"DATABASE_URL", "AMQP_URL"}:
            monkeypatch.delenv(name)


def test_reads_its_own_prefix(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TODOS_DATABASE_URL", DB)
    monkeypatch.setenv("TODOS_JWT_PUBLIC_KEYS", "/keys/public.pem")
    monkeypatch.setenv("TODOS_AMQP_URL", "amqp://todos:pw@mq:5672/")
    monkeypatch.setenv("TODOS_SHUTDOWN_DRAIN_SECONDS", "2.5")
    monkeypatch.setenv("TODOS_RUN_WORKERS", "false")
    monkeypatch.setenv("USERS_AMQP_URL", "amqp://users:pw@other:5672/")
    monkeypatch.setenv("USERS_JWT_LEEWAY_SECONDS", "25")
    settings = Settings()
    assert str(settings.database_url) == DB
    assert settings.jwt_public_keys == "/keys/public.pem"
    assert settings.amqp_url == "amqp://todos:pw@mq:5672/"
    assert settings.shutdown_drain_seconds == 2.5
    assert settings.run_workers is False
    assert settings.jwt_leeway_seconds == 10
    assert settings.service_name == "todos"


def test_ignores_other_prefixes_and_bare_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("USERS_DATABASE_URL", DB)
    monkeypatch.setenv("DATABASE_URL", DB)
    monkeypatch.setenv("USERS_JWT_PUBLIC_KEYS", "/keys/public.pem")
    with pytest.raises(ValidationError) as caught:
        Settings()
    missing = {e["loc"][0] for e in caught.value.errors() if e["type"] == "missing"}
    assert missing == {"database_url", "jwt_public_keys"}


@pytest.mark.parametrize(
    ("field", "value", "accepted"),
    [
        ("jwt_leeway_seconds", 30, True),
        ("jwt_leeway_seconds", 31, False),
        ("jwt_leeway_seconds", 3600, False),
        ("jwt_leeway_seconds", -1, False),
        ("shutdown_drain_seconds", 61, False),
        ("db_pool_size", 0, False),
        ("database_url", "mysql://u:p@127.0.0.1/db", False),
    ],
)
def test_bounds(field: str, value: object, accepted: bool) -> None:
    values: dict[str, Any] = {**REQUIRED, field: value}
    if accepted:
        assert getattr(Settings(**values), field) == value
    else:
        with pytest.raises(ValidationError):
            Settings(**values)


def test_leeway_from_env_is_bounded_too(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TODOS_JWT_LEEWAY_SECONDS", "31")
    with pytest.raises(ValidationError, match="jwt_leeway_seconds"):
        Settings(**REQUIRED)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (DB, "postgresql+asyncpg://todos:pw@127.0.0.1:5432/todos"),
        (
            "postgresql+asyncpg://todos:pw@127.0.0.1:5432/todos",
            "postgresql+asyncpg://todos:pw@127.0.0.1:5432/todos",
        ),
        ("postgresql+psycopg://u:p%40ss@db/x", "postgresql+asyncpg://u:p%40ss@db/x"),
        (
            "postgres://u:p@db:6543/x?sslmode=require",
            "postgresql+asyncpg://u:p@db:6543/x?sslmode=require",
        ),
    ],
)
def test_async_database_url_uses_asyncpg(url: str, expected: str) -> None:
    values: dict[str, Any] = {**REQUIRED, "database_url": url}
    assert Settings(**values).async_database_url == expected


@pytest.mark.parametrize(
    ("environment", "amqp_url", "accepted"),
    [
        ("production", "amqp://guest:guest@mq:5672/", False),
        ("production", "amqp://guest:guest@127.0.0.1:5672/", False),
        ("production", "amqp://todos:long-secret@mq:5672/", True),
        ("local", "amqp://guest:guest@127.0.0.1:5672/", True),
        ("test", "amqp://guest:guest@127.0.0.1:5672/", True),
    ],
)
def test_production_refuses_guest_broker_credentials(
    environment: str, amqp_url: str, accepted: bool
) -> None:
    values: dict[str, Any] = {
        **REQUIRED,
        "environment": environment,
        "amqp_url": amqp_url,
        "cursor_secret": "a-real-production-cursor-secret",
    }
    if accepted:
        assert Settings(**values).amqp_url == amqp_url
    else:
        with pytest.raises(ValidationError, match="guest"):
            Settings(**values)


def test_production_refuses_the_development_cursor_secret() -> None:
    values = {**REQUIRED, "environment": "production", "amqp_url": "amqp://u:p@mq:5672/"}
    with pytest.raises(ValidationError, match="CURSOR_SECRET"):
        Settings(**values)
    assert Settings(**values, cursor_secret="a-real-production-secret").environment == "production"


def test_production_refuses_default_broker_url() -> None:
    with pytest.raises(ValidationError, match="guest"):
        Settings(**REQUIRED, environment="production")


def test_settings_are_frozen() -> None:
    settings = Settings(**REQUIRED)
    with pytest.raises(ValidationError):
        settings.jwt_leeway_seconds = 30  # type: ignore[misc]
