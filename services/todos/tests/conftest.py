"""Fixtures for the todos service: a migrated database, the app in-process, tokens, events.

Each test runs inside one transaction rolled back at the end; the service's own commits become
savepoints within it, so tests never see each other. Tests of concurrent writers need real
commits and real row locks: they use `committed_client`, on a database of its own.
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

from shared.contracts import FileUploaded
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
    running,
    runtime_of,
)
from todos_service.components import Components
from todos_service.consumers import build_handlers
from todos_service.main import create_app
from todos_service.models import EVENT_TABLES
from todos_service.settings import Settings
from todos_service.spec import MIGRATIONS_DIR

TODOS = "/api/v1/todos"

Sessions = async_sessionmaker[AsyncSession]
Auth = Callable[[uuid.UUID | str], dict[str, str]]
Deliver = Callable[[DomainEvent], Awaitable[None]]
Upload = Callable[[uuid.UUID], Awaitable[uuid.UUID]]
Uploaded = Callable[[uuid.UUID, uuid.UUID], FileUploaded]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
Create = Callable[..., Awaitable[dict[str, Any]]]


@pytest.fixture(scope="session")
def signing_key(tmp_path_factory: pytest.TempPathFactory) -> SigningKey:
    return SigningKey.create(tmp_path_factory.mktemp("todos-keys"))


@pytest.fixture(scope="session")
def todos_settings_for(
    servers: Any, database_factory: Callable[[str], str], signing_key: SigningKey
) -> Callable[[str], Settings]:
    """Settings on a fresh database at the todos migrations head."""
    return migrated_settings(
        Settings, MIGRATIONS_DIR, database_factory, amqp_url=servers.amqp_url, key=signing_key
    )


@pytest.fixture(scope="session")
async def todos_app(todos_settings_for: Callable[[str], Settings]) -> AsyncIterator[FastAPI]:
    app = create_app(todos_settings_for("todos"))
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
async def sessions(todos_app: FastAPI) -> AsyncIterator[Sessions]:
    """The app's session factory for this test, bound to one transaction that is rolled back."""
    async with rolled_back(runtime_of(todos_app)) as factory:
        yield factory


@pytest.fixture
async def client(todos_app: FastAPI, sessions: Sessions) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(todos_app) as http:
        yield http


@pytest.fixture(scope="session")
async def committed_client(
    todos_settings_for: Callable[[str], Settings],
) -> AsyncIterator[httpx.AsyncClient]:
    """The app on a database of its own, committing for real (each test uses its own users)."""
    async with running(create_app(todos_settings_for("todos_committed"))) as http:
        yield http


@pytest.fixture
def auth(signing_key: SigningKey) -> Auth:
    """Authorization headers for `subject`."""
    return signing_key.headers


@pytest.fixture(scope="session")
def handlers(todos_app: FastAPI) -> dict[type[DomainEvent], Handler]:
    """The app's event handlers, built from its components as the consumer gets them."""
    return build_handlers(components_of(todos_app, Components))


@pytest.fixture
def deliver(sessions: Sessions, handlers: dict[type[DomainEvent], Handler]) -> Deliver:
    """Hand an event to its handler in a transaction, as the consumer runs it."""

    async def run(event: DomainEvent) -> None:
        await apply_event(sessions, handlers[type(event)], event)

    return run


@pytest.fixture
def uploaded() -> Uploaded:
    """`file_uploaded(file_id, owner_id)`: the `file.uploaded` event for that file."""
    return file_uploaded


@pytest.fixture
def upload(deliver: Deliver) -> Upload:
    """A `file.uploaded` for a new file of `owner_id`; returns the file's id."""

    async def run(owner_id: uuid.UUID) -> uuid.UUID:
        file_id = uuid.uuid4()
        await deliver(file_uploaded(file_id, owner_id))
        return file_id

    return run


@pytest.fixture
def create(client: httpx.AsyncClient, auth: Auth) -> Create:
    """POST a todo for `owner_id` (title defaults); returns the created body."""

    async def run(owner_id: uuid.UUID, **fields: Any) -> dict[str, Any]:
        body = {"title": "Buy milk"} | fields
        response = await client.post(TODOS, headers=auth(owner_id), json=body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    return run


@pytest.fixture
def outbox(sessions: Sessions) -> Outbox:
    """The envelopes of one event type waiting in the todos outbox, oldest first."""

    return functools.partial(read_outbox, sessions, EVENT_TABLES.outbox)
