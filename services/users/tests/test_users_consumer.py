"""`user.registered` from the broker becomes one profile, however often it is delivered."""

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

from shared.contracts import UserRegistered
from shared.events import Envelope
from shared.messaging.broker import Broker
from shared.messaging.consumer import EventConsumer
from shared.messaging.topology import Topology
from users_service.consumers import HANDLERS
from users_service.models import EVENT_TABLES, Profile

Sessions = async_sessionmaker[AsyncSession]


@pytest.fixture
async def committed_sessions(
    migrated_users_database: Callable[[str], str],
) -> AsyncIterator[Sessions]:
    """Sessions on a database of this test's own: the consumer commits for real."""
    url = migrated_users_database("users_consumer")
    engine = create_async_engine("postgresql+asyncpg://" + url.partition("://")[2])
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


@pytest.fixture
async def broker(servers: Any) -> AsyncIterator[Broker]:
    broker = Broker(servers.amqp_url, name="users-test")
    yield broker
    await broker.close()


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15.0) -> None:
    """Wait for eventual consistency with a bound, never a bare sleep."""
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


async def test_registrations_from_the_broker_create_one_profile(
    committed_sessions: Sessions, broker: Broker, run_id: str
) -> None:
    topology = Topology(exchange=f"test-{run_id}-users", service=f"users-{run_id}")
    consumer = EventConsumer(
        session_factory=committed_sessions,
        inbox=EVENT_TABLES.inbox,
        broker=broker,
        topology=topology,
        handlers=HANDLERS,
        retry_base_seconds=0.05,
    )
    task = asyncio.create_task(consumer.run())
    try:
        await asyncio.wait_for(consumer.consuming.wait(), timeout=10)
        channel = await (await broker.connection()).channel()
        exchange = await channel.get_exchange(topology.exchange)
        user_id = uuid.uuid4()
        first = Envelope.wrap(
            UserRegistered(user_id=user_id, email="ann@example.com", username="ann"),
            producer="auth",
        )
        again = Envelope.wrap(
            UserRegistered(user_id=user_id, email="other@example.com", username="other"),
            producer="auth",
        )

        async def publish(envelope: Envelope) -> None:
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

        # The same envelope twice (a redelivery), then, once applied, another for the same user.
        await publish(first)
        await publish(first)
        await eventually(lambda: handled(1))
        await publish(again)
        await eventually(lambda: handled(2))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        channel = await (await broker.connection()).channel()
        await channel.queue_delete(topology.queue)
        await channel.queue_delete(topology.dead_letter_queue)

    async with committed_sessions() as session:
        profiles = (await session.scalars(select(Profile))).all()
    assert [(p.id, p.email, p.username) for p in profiles] == [(user_id, "ann@example.com", "ann")]
    assert (profiles[0].display_name, profiles[0].bio, profiles[0].avatar_file_id) == (None,) * 3
