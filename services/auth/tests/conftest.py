"""Fixtures for the auth service: keys, a migrated database, and the app running in-process."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from auth_service.main import create_app
from auth_service.settings import Settings
from auth_service.spec import MIGRATIONS_DIR
from shared.testing import SigningKey, free_port, migrate, running, service_settings
from tools import mailsink

STRONG_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.create(tmp_path_factory.mktemp("auth-keys"))


@dataclass(frozen=True)
class MailServer:
    """A real SMTP server (aiosmtpd) that keeps what auth sends as .eml files."""

    port: int
    folder: Path

    def messages(self, to: str | None = None) -> list[EmailMessage]:
        return [m for m in mailsink.messages(self.folder) if to is None or m["To"] == to]


@pytest.fixture(scope="session")
def mail_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MailServer]:
    port = free_port()
    folder = tmp_path_factory.mktemp("mail")
    with mailsink.serving(folder, port):
        yield MailServer(port, folder)


@pytest.fixture(scope="module")
def auth_database(database_factory: Callable[[str], str]) -> str:
    return migrate(database_factory("auth"), MIGRATIONS_DIR)


@pytest.fixture(scope="module")
def make_settings(
    servers: Any, auth_database: str, signing_key: SigningKey, mail_server: MailServer
) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "redis_url": servers.redis_url,
            "smtp_host": "127.0.0.1",
            "smtp_port": mail_server.port,
            # Every in-process request comes from 127.0.0.1: tests of the budget use their own.
            "mail_requests_per_address_hour": 1000,
            "jwt_private_key": str(signing_key.private_pem),
            "run_workers": True,
            "refresh_reuse_grace_seconds": 0,
            "outbox_poll_seconds": 0.5,
            **overrides,
        }
        return service_settings(
            Settings,
            database_url=auth_database,
            amqp_url=servers.amqp_url,
            key=signing_key,
            **values,
        )

    return make


def started(
    settings: Settings | FastAPI,
) -> contextlib.AbstractAsyncContextManager[httpx.AsyncClient]:
    """The app with its lifespan, ready (revocations loaded), behind an in-process client."""
    return running(
        settings if isinstance(settings, FastAPI) else create_app(settings),
        ready_within=15,
        base_url="http://auth.test",
        client=("127.0.0.1", 40000),
    )


@pytest.fixture(scope="module")
def auth_app(make_settings: Callable[..., Settings]) -> FastAPI:
    """The app `client` calls (its components, while `client` is open)."""
    return create_app(make_settings())


@pytest.fixture(scope="module")
async def client(auth_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with started(auth_app) as client:
        yield client


@pytest.fixture(scope="module")
def run_app() -> Callable[[Settings], contextlib.AbstractAsyncContextManager[httpx.AsyncClient]]:
    """Start another app instance (another replica, other settings) inside a test."""
    return started
