"""Settings every service shares, read from the environment with one prefix per service."""

from __future__ import annotations

import re
import socket
from typing import Literal

from pydantic import Field, PostgresDsn, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

Environment = Literal["local", "test", "production"]
_ORIGIN = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?")
DEV_CURSOR_SECRET = "local-development-cursor-secret"  # noqa: S105 - refused in production


class ServiceSettings(BaseSettings):
    """Base settings; a service subclasses it and sets `env_prefix` (e.g. "TODOS_")."""

    model_config = SettingsConfigDict(extra="ignore", frozen=True)

    environment: Environment = "local"
    service_name: str = "service"
    replica: str = Field(default_factory=socket.gethostname)
    log_level: str = "INFO"

    database_url: PostgresDsn
    # All kept open, none overflow: an overflow connection is closed when returned to a full pool
    # and opened again (SCRAM and all) at the next burst, which halved a replica's list rate.
    db_pool_size: int = Field(default=15, ge=1, le=200)
    db_max_overflow: int = Field(default=0, ge=0, le=200)
    # How long a request waits for a connection before its replica answers 503 `overloaded`.
    db_pool_timeout_seconds: float = Field(default=2.0, gt=0)
    db_statement_timeout_ms: int = Field(default=10_000, ge=0)

    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "domain-events"
    events_prefetch: int = Field(default=16, ge=1, le=1000)
    events_delivery_limit: int = Field(default=5, ge=1, le=100)
    publish_timeout_seconds: float = Field(default=5.0, gt=0)
    outbox_poll_seconds: float = Field(default=2.0, gt=0)
    # Sent outbox rows, and handled event ids, are deleted after these (shared.messaging.retention).
    outbox_retention_seconds: float = Field(default=24 * 3600, gt=0)
    inbox_retention_seconds: float = Field(default=7 * 24 * 3600, ge=3600)
    run_workers: bool = True

    redis_url: str | None = None

    jwt_public_keys: str = Field(
        description="Path to, or content of, the public key set: PEM(s) or a JWKS document."
    )
    jwt_issuer: str = "https://auth.suite.local"
    jwt_audience: str = "suite-api"
    jwt_leeway_seconds: int = Field(default=10, ge=0, le=30)
    revocations_url: str | None = Field(
        default=None,
        description="Comma-separated URLs of the issuer's revocation snapshot (tried in turn).",
    )
    revocation_resync_seconds: float = Field(default=30.0, gt=0)

    traces_file: str | None = Field(
        default=None, description="Also write finished spans here as JSON lines (local use)."
    )
    cursor_secret: SecretStr = Field(
        default=SecretStr(DEV_CURSOR_SECRET),
        description="Signs pagination cursors; the same on every replica of the service.",
    )
    shutdown_drain_seconds: float = Field(default=0.0, ge=0, le=60)
    cors_allowed_origins: str = Field(
        default="",
        description="Comma-separated exact origins browsers may call from (empty: CORS off).",
    )

    @model_validator(mode="after")
    def _refuse_dev_secrets_in_production(self) -> ServiceSettings:
        if self.environment == "production" and "guest:guest@" in self.amqp_url:
            raise ValueError("the default RabbitMQ guest credentials are refused in production")
        if self.environment == "production" and (
            self.cursor_secret.get_secret_value() == DEV_CURSOR_SECRET
        ):
            raise ValueError("set CURSOR_SECRET: the development default is refused in production")
        return self

    @field_validator("cors_allowed_origins")
    @classmethod
    def _exact_origins(cls, value: str) -> str:
        for origin in _split(value):
            if not _ORIGIN.fullmatch(origin):
                raise ValueError(f"not an exact origin (scheme://host[:port]): {origin!r}")
        return value

    @property
    def cors_origins(self) -> list[str]:
        return _split(self.cors_allowed_origins)

    @property
    def async_database_url(self) -> str:
        """The DSN with the asyncpg driver, whatever scheme the operator wrote."""
        url = str(self.database_url)
        scheme, _, rest = url.partition("://")
        return f"postgresql+asyncpg://{rest}" if scheme != "postgresql+asyncpg" else url

    @property
    def plain_database_url(self) -> str:
        """The DSN without a SQLAlchemy driver suffix, as asyncpg itself wants it (LISTEN)."""
        return "postgresql://" + self.async_database_url.partition("://")[2]


def _split(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]
