"""A live consumer on the real broker, for tests of event handlers end to end."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractExchange
from sqlalchemy import Table

from shared.events import DomainEvent, Envelope
from shared.messaging.broker import Broker
from shared.messaging.consumer import EventConsumer, Handler
from shared.messaging.topology import Topology
from shared.settings import ServiceSettings
from shared.testing.databases import Sessions, count_rows, database_sessions


@dataclass(frozen=True)
class LiveConsumer:
    """A consumer running on the real broker: publish to its exchange, count what it handled."""

    exchange: AbstractExchange
    sessions: Sessions
    inbox: Table

    async def publish(self, envelope: Envelope) -> None:
        """Publish `envelope` as the relay does: message id, type and routing key from it."""
        message = aio_pika.Message(
            body=envelope.model_dump_json().encode(),
            message_id=str(envelope.id),
            type=envelope.type,
        )
        await self.exchange.publish(message, routing_key=envelope.type)

    async def handled(self, count: int) -> bool:
        """Whether exactly `count` events are in the inbox (each handled once)."""
        return await count_rows(self.sessions, self.inbox) == count


@contextlib.asynccontextmanager
async def consuming(
    settings: ServiceSettings,
    *,
    tag: str,
    inbox: Table,
    handlers: Mapping[type[DomainEvent], Handler],
) -> AsyncIterator[LiveConsumer]:
    """Run the service's `EventConsumer` (quick retries, real commits on its settings' database)
    on exchange and queues named for `tag`, for the block; its queues are deleted after."""
    name = settings.service_name
    topology = Topology(exchange=f"test-{tag}-{name}", service=f"{name}-{tag}")
    broker = Broker(settings.amqp_url, name=f"{name}-test")
    async with database_sessions(str(settings.database_url)) as sessions:
        consumer = EventConsumer(
            session_factory=sessions,
            inbox=inbox,
            broker=broker,
            topology=topology,
            handlers=handlers,
            retry_base_seconds=0.05,
        )
        task = asyncio.create_task(consumer.run())
        try:
            await asyncio.wait_for(consumer.consuming.wait(), timeout=10)
            channel = await (await broker.connection()).channel()
            yield LiveConsumer(await channel.get_exchange(topology.exchange), sessions, inbox)
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            try:
                channel = await (await broker.connection()).channel()
                await channel.queue_delete(topology.queue)
                await channel.queue_delete(topology.dead_letter_queue)
            finally:
                await broker.close()
