"""Fixtures for the users service: a migrated database, the app in-process, tokens, profiles.

Each test runs inside one transaction rolled back at the end; the service's own commits become
savepoints within it (`join_transaction_mode="create_savepoint"`), so tests never see each other.
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import UserRegistered
from shared.events import DomainEvent
from shared.messaging.consumer import Handler
from shared.testing import (
    SigningKey,
    apply_event,
    asgi_client,
    components_of,
    file_uploaded,
    migrated_settings,
    read_outbox,
    rolled_back,
    runtime_of,
)
from users_service.components import Components
from users_service.consumers import build_handlers
from users_service.main import create_app
from users_service.models import EVENT_TABLES
from users_service.settings import Settings
from users_service.spec import MIGRATIONS_DIR

Sessions = async_sessionmaker[AsyncSession]
Deliver = Callable[[DomainEvent], Awaitable[None]]
Upload = Callable[[uuid.UUID], Awaitable[uuid.UUID]]
Auth = Callable[..., dict[str, str]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.create(tmp_path_factory.mktemp("users-keys"))


@pytest.fixture(scope="session")
def users_settings_for(
    servers: Any, database_factory: Callable[[str], str], signing_key: SigningKey
) -> Callable[[str], Settings]:
    """Settings on a fresh database at the users migrations head."""
    return migrated_settings(
        Settings, MIGRATIONS_DIR, database_factory, amqp_url=servers.amqp_url, key=signing_key
    )


@pytest.fixture(scope="session")
async def users_app(users_settings_for: Callable[[str], Settings]) -> AsyncIterator[FastAPI]:
    app = create_app(users_settings_for("users"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sessions(users_app: FastAPI) -> AsyncIterator[Sessions]:
    """The app's session factory for this test, bound to one transaction that is rolled back."""
    async with rolled_back(runtime_of(users_app)) as factory:
        yield factory


@pytest.fixture
async def client(users_app: FastAPI, sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(users_app) as http:
        yield http


@pytest.fixture
def auth(signing_key: SigningKey) -> Auth:
    """Authorization headers for `subject` (with `roles`)."""
    return signing_key.headers


@pytest.fixture(scope="session")
def handlers(users_app: FastAPI) -> dict[type[DomainEvent], Handler]:
    """The app's event handlers, built from its components as the consumer gets them."""
    return build_handlers(components_of(users_app, Components))


@pytest.fixture
def register(
    sessions: Sessions, handlers: dict[type[DomainEvent], Handler]
) -> Callable[..., Awaitable[uuid.UUID]]:
    """Deliver a `user.registered` to the handler, in a transaction as the consumer runs it."""

    async def run(
        user_id: uuid.UUID | None = None, *, email: str | None = None, username: str | None = None
    ) -> uuid.UUID:
        user_id = user_id or uuid.uuid4()
        event = UserRegistered(
            user_id=user_id,
            email=email or f"{user_id.hex[:8]}@example.com",
            username=username or f"user_{user_id.hex[:8]}",
        )
        await apply_event(sessions, handlers[UserRegistered], event, producer="auth")
        return user_id

    return run


@pytest.fixture
def deliver(sessions: Sessions, handlers: dict[type[DomainEvent], Handler]) -> Deliver:
    """Hand an event to its handler in a transaction, as the consumer runs it."""

    async def run(event: DomainEvent) -> None:
        await apply_event(sessions, handlers[type(event)], event, producer="files")

    return run


@pytest.fixture
def upload(deliver: Deliver) -> Upload:
    """A `file.uploaded` for a new file of `owner_id`; returns the file's id."""

    async def run(owner_id: uuid.UUID) -> uuid.UUID:
        file_id = uuid.uuid4()
        await deliver(file_uploaded(file_id, owner_id))
        return file_id

    return run


@pytest.fixture
def outbox(sessions: Sessions) -> Outbox:
    """The envelopes of one event type waiting in the users outbox, oldest first."""
    return functools.partial(read_outbox, sessions, EVENT_TABLES.outbox)
