"""File and user events from the broker reach the handlers once each, and in any order."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aio_pika
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.contracts import FileDeleted, FileUploaded, UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.broker import Broker
from shared.messaging.consumer import EventConsumer
from shared.messaging.topology import Topology
from todos_service.consumers import HANDLERS
from todos_service.models import EVENT_TABLES, KnownFile
from todos_service.settings import Settings

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def committed_sessions(
    todos_settings_for: Callable[[str], Settings],
) -> AsyncIterator[Sessions]:
    """Sessions on a database of this test's own: the consumer commits for real."""
    engine = create_async_engine(todos_settings_for("todos_broker").async_database_url)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
async def broker(servers: Any) -> AsyncIterator[Broker]:
    broker = Broker(servers.amqp_url, name="todos-test")
    yield broker
    await broker.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Wait for eventual consistency with a bound, never a bare sleep."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def uploaded(file_id: uuid.UUID, owner_id: uuid.UUID) -> FileUploaded:
    return FileUploaded(
        file_id=file_id,
        owner_id=owner_id,
        filename="a.txt",
        content_type="text/plain",
        size=1,
        sha256="0" * 64,
    )


async def test_events_from_the_broker_keep_the_file_read_model(
    committed_sessions: Sessions, broker: Broker, run_id: str
) -> None:
    topology = Topology(exchange=f"test-{run_id}-todos", service=f"todos-{run_id}")
    consumer = EventConsumer(
        session_factory=committed_sessions,
        inbox=EVENT_TABLES.inbox,
        broker=broker,
        topology=topology,
        handlers=HANDLERS,
        retry_base_seconds=0.05,
    )
    task = asyncio.create_task(consumer.run())
    owner, gone_user = uuid.uuid4(), uuid.uuid4()
    live, late, purged = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    try:
        await asyncio.wait_for(consumer.consuming.wait(), timeout=10)
        channel = await (await broker.connection()).channel()
        exchange = await channel.get_exchange(topology.exchange)

        async def publish(event: DomainEvent) -> None:
            envelope = Envelope.wrap(event, producer="files")
            message = aio_pika.Message(
                body=envelope.model_dump_json().encode(),
                message_id=str(envelope.id),
                type=envelope.type,
            )
            await exchange.publish(message, routing_key=envelope.type)

        async def handled(count: int) -> bool:
            async with committed_sessions() as session:
                query = select(func.count()).select_from(EVENT_TABLES.inbox)
                return (await session.execute(query)).scalar_one() == count

        await publish(uploaded(live, owner))
        await publish(FileDeleted(file_id=late, owner_id=owner))  # before its upload
        await publish(uploaded(purged, gone_user))
        await eventually(lambda: handled(3))
        await publish(uploaded(late, owner))
        await publish(UserDeleted(user_id=gone_user))
        await eventually(lambda: handled(5))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        channel = await (await broker.connection()).channel()
        await channel.queue_delete(topology.queue)
        await channel.queue_delete(topology.dead_letter_queue)

    async with committed_sessions() as session:
        files = {row.id: row.deleted_at is None for row in await session.scalars(select(KnownFile))}
    assert files == {live: True, late: False}
