"""The retention sweep of the event tables, against a real PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.db import make_metadata
from shared.events import define_event_tables
from shared.messaging import retention
from shared.messaging.retention import EventRetention
from shared.testing import asyncpg_url

metadata = make_metadata()
tables = define_event_tables(metadata)
HOUR = 3600.0


@pytest.fixture
async def sessions(
    database_factory: Callable[[str], str],
) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(asyncpg_url(database_factory("retention")))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


def outbox_row(*, published_hours_ago: float | None) -> dict[str, object]:
    now = datetime.now(UTC)
    published = None if published_hours_ago is None else now - timedelta(hours=published_hours_ago)
    return {
        "id": uuid.uuid4(),
        "type": "widget.created",
        "envelope": {},
        "created_at": now - timedelta(hours=(published_hours_ago or 0) + 1),
        "published_at": published,
    }


def inbox_row(*, handled_hours_ago: float) -> dict[str, object]:
    handled = datetime.now(UTC) - timedelta(hours=handled_hours_ago)
    return {"event_id": uuid.uuid4(), "type": "widget.created", "handled_at": handled}


async def ids(sessions: async_sessionmaker[AsyncSession]) -> tuple[set[uuid.UUID], set[uuid.UUID]]:
    async with sessions() as session:
        outbox = set((await session.scalars(select(tables.outbox.c.id))).all())
        inbox = set((await session.scalars(select(tables.inbox.c.event_id))).all())
    return outbox, inbox


async def test_sent_rows_past_retention_go_and_everything_else_stays(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    old_sent = [outbox_row(published_hours_ago=30) for _ in range(3)]
    recent_sent = [outbox_row(published_hours_ago=1)]
    # Never published, however old: the relay still owes it to the broker.
    pending = [
        outbox_row(published_hours_ago=None) | {"created_at": datetime(2020, 1, 1, tzinfo=UTC)}
    ]
    old_handled = [inbox_row(handled_hours_ago=24 * 8) for _ in range(2)]
    recent_handled = [inbox_row(handled_hours_ago=24 * 6)]
    async with sessions() as session, session.begin():
        await session.execute(insert(tables.outbox), [*old_sent, *recent_sent, *pending])
        await session.execute(insert(tables.inbox), [*old_handled, *recent_handled])

    sweep = EventRetention(
        session_factory=sessions,
        outbox=tables.outbox,
        inbox=tables.inbox,
        outbox_retention_seconds=24 * HOUR,
        inbox_retention_seconds=7 * 24 * HOUR,
    )
    assert await sweep.sweep() == {"outbox_message": 3, "inbox_message": 2}

    outbox, inbox = await ids(sessions)
    assert outbox == {row["id"] for row in [*recent_sent, *pending]}
    assert inbox == {row["event_id"] for row in recent_handled}
    assert await sweep.sweep() == {"outbox_message": 0, "inbox_message": 0}


async def test_a_backlog_is_swept_in_batches(
    sessions: async_sessionmaker[AsyncSession], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(retention, "BATCH", 4)
    rows = [outbox_row(published_hours_ago=2) for _ in range(10)]
    async with sessions() as session, session.begin():
        await session.execute(insert(tables.outbox), rows)
    sweep = EventRetention(
        session_factory=sessions,
        outbox=tables.outbox,
        inbox=tables.inbox,
        outbox_retention_seconds=HOUR,
        inbox_retention_seconds=HOUR,
    )
    assert (await sweep.sweep())["outbox_message"] == 10
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(tables.outbox)) == 0
