"""The broker's shape: one durable topic exchange, a queue and dead-letter queue per consuming service.

Declarations are idempotent, so every process (and the set-up step) may declare what it uses.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractExchange, AbstractQueue


@dataclass(frozen=True)
class Topology:
    """Names derived from the exchange and the consuming service; one place computes them."""

    exchange: str
    service: str
    delivery_limit: int = 5

    @property
    def dead_letter_exchange(self) -> str:
        return f"{self.exchange}.dlx"

    @property
    def unrouted_exchange(self) -> str:
        return f"{self.exchange}.unrouted"

    @property
    def queue(self) -> str:
        return f"{self.service}.events"

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.service}.events.dlq"


async def declare_exchange(channel: AbstractChannel, exchange: str) -> AbstractExchange:
    """The domain-events topic exchange; what no queue is bound for is parked, not dropped."""
    unrouted = await channel.declare_exchange(
        f"{exchange}.unrouted", aio_pika.ExchangeType.FANOUT, durable=True
    )
    parking = await channel.declare_queue(
        f"{exchange}.unrouted",
        durable=True,
        # Events nobody subscribes to yet are kept for inspection, within a bound.
        arguments={"x-queue-type": "quorum", "x-max-length": 100_000},
    )
    await parking.bind(unrouted)
    return await channel.declare_exchange(
        exchange,
        aio_pika.ExchangeType.TOPIC,
        durable=True,
        arguments={"alternate-exchange": f"{exchange}.unrouted"},
    )


async def declare_consumer_queue(
    channel: AbstractChannel, topology: Topology, routing_keys: Iterable[str]
) -> AbstractQueue:
    """The service's quorum queue bound to `routing_keys`, dead-lettering after the delivery limit."""
    exchange = await declare_exchange(channel, topology.exchange)
    dlx = await channel.declare_exchange(
        topology.dead_letter_exchange, aio_pika.ExchangeType.DIRECT, durable=True
    )
    dlq = await channel.declare_queue(
        topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    await dlq.bind(dlx, routing_key=topology.queue)
    queue = await channel.declare_queue(
        topology.queue,
        durable=True,
        arguments={
            "x-queue-type": "quorum",
            # RabbitMQ 3.x quorum queues have no default limit: without it a failing handler loops.
            "x-delivery-limit": topology.delivery_limit,
            "x-dead-letter-exchange": topology.dead_letter_exchange,
            "x-dead-letter-routing-key": topology.queue,
        },
    )
    for key in routing_keys:
        await queue.bind(exchange, routing_key=key)
    return queue
