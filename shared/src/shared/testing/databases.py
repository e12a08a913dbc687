"""Test databases: settings on a fresh migrated database, rolled-back sessions, outbox reads."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Table, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from shared.migrations import upgrade_to_head
from shared.settings import ServiceSettings
from shared.testing.keys import SigningKey

Sessions = async_sessionmaker[AsyncSession]
SettingsT = TypeVar("SettingsT", bound=ServiceSettings)


def service_settings(
    settings_type: type[SettingsT],
    *,
    database_url: str,
    amqp_url: str,
    key: SigningKey,
    **overrides: Any,
) -> SettingsT:
    """A service's settings under test: its database, the test broker and key, no workers."""
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "amqp_url": amqp_url,
        "jwt_public_keys": str(key.public_pem),
        "run_workers": False,
        **overrides,
    }
    return settings_type(**values)


def migrated_settings(
    settings_type: type[SettingsT],
    migrations_dir: Path,
    database_factory: Callable[[str], str],
    *,
    amqp_url: str,
    key: SigningKey,
    **fixed: Any,
) -> Callable[..., SettingsT]:
    """`build(label, **overrides)`: `service_settings` on a new database at the migrations head."""

    def build(label: str, **overrides: Any) -> SettingsT:
        url = migrate(database_factory(label), migrations_dir)
        values = {"amqp_url": amqp_url, "key": key, **fixed, **overrides}
        return service_settings(settings_type, database_url=url, **values)

    return build


def asyncpg_url(database_url: str) -> str:
    """The same database, addressed through SQLAlchemy's asyncpg driver."""
    return "postgresql+asyncpg://" + database_url.partition("://")[2]


def migrate(database_url: str, migrations_dir: Path) -> str:
    """Bring a postgresql:// database to a service's head (off this event loop); returns its URL."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(upgrade_to_head, migrations_dir, asyncpg_url(database_url)).result(timeout=120)
    return database_url


@contextlib.asynccontextmanager
async def database_sessions(database_url: str) -> AsyncIterator[Sessions]:
    """Sessions that commit for real on `database_url`; the engine is disposed of at the end."""
    engine = create_async_engine(asyncpg_url(database_url))
    try:
        yield async_sessionmaker(engine, expire_on_commit=False)
    finally:
        await engine.dispose()


@contextlib.asynccontextmanager
async def rolled_back(runtime: Any) -> AsyncIterator[Sessions]:
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


async def count_rows(sessions: Sessions, source: Any, *where: Any) -> int:
    """How many rows of `source` (a table or an ORM class) match `where`."""
    async with sessions() as session:
        query = select(func.count()).select_from(source).where(*where)
        return int((await session.execute(query)).scalar_one())


async def read_outbox(sessions: Sessions, outbox: Table, event_type: str) -> list[dict[str, Any]]:
    """The envelopes of one event type in a service's outbox, oldest first."""
    query = (
        select(outbox.c.envelope)
        .where(outbox.c.type == event_type)
        .order_by(outbox.c.created_at, outbox.c.id)
    )
    async with sessions() as session:
        return list((await session.scalars(query)).all())


async def apply_event(
    sessions: Sessions, handler: Handler, event: DomainEvent, *, producer: str = "test"
) -> None:
    """Hand `event` to its handler in one transaction, as the consumer runs it."""
    async with sessions() as session, session.begin():
        await handler(session, event, Envelope.wrap(event, producer=producer))


async def broken_outbox_write(*_: Any, **__: Any) -> None:
    """Patched over a repository's outbox write: the write fails, so the use case must too."""
    raise RuntimeError("outbox unavailable")
