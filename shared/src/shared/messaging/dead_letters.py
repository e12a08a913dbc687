"""Dead letters: the messages a service's consumer gave up on, to look at, replay or drop.

Operators reach them as `python -m <service>_service dlq list|show|replay|drop`. Listing
takes nothing away: the messages are read unacknowledged and return, in order, when the channel
closes. A replay sends a message to the service's own queue only (not to every subscriber of its
routing key), with publisher confirms, and acknowledges the dead letter only after the broker
confirmed the copy; its id is kept, so the consumer's inbox still applies it at most once.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue

from shared.messaging.broker import Broker
from shared.messaging.topology import Topology


@dataclass(frozen=True)
class DeadLetter:
    message_id: str | None
    type: str | None
    reason: str | None
    """Why it was dead-lettered: `rejected` (unreadable), `delivery_limit` (handler kept failing)."""
    deaths: int
    first_death_at: datetime | None
    body: bytes

    def summary(self, preview: int | None = 200) -> dict[str, Any]:
        """As JSON: the body whole, or its first `preview` bytes."""
        return {
            "message_id": self.message_id,
            "type": self.type,
            "reason": self.reason,
            "deaths": self.deaths,
            "first_death_at": self.first_death_at.isoformat() if self.first_death_at else None,
            "body": self.body[:preview].decode("utf-8", "replace"),
        }


@dataclass(frozen=True)
class Selection:
    """Which dead letters an action is for: these ids, this event type, or (neither) all."""

    ids: frozenset[str] = frozenset()
    type: str | None = None

    def matches(self, letter: DeadLetter) -> bool:
        if self.ids and letter.message_id not in self.ids:
            return False
        return self.type is None or letter.type == self.type


def _dead_letter(message: AbstractIncomingMessage) -> DeadLetter:
    deaths = message.headers.get("x-death") or []
    first = deaths[0] if isinstance(deaths, list) and deaths else {}
    if not isinstance(first, dict):
        first = {}
    when, count = first.get("time"), first.get("count")
    return DeadLetter(
        message_id=message.message_id,
        type=message.type or message.routing_key,
        reason=str(first["reason"]) if "reason" in first else None,
        deaths=count if isinstance(count, int) else 0,
        first_death_at=when if isinstance(when, datetime) else None,
        body=message.body,
    )


@contextlib.asynccontextmanager
async def _dead_letter_queue(
    broker: Broker, topology: Topology
) -> AsyncIterator[tuple[AbstractChannel, AbstractQueue]]:
    # A channel of its own: whatever is still unacknowledged when it closes goes back, in order.
    channel = await (await broker.connection()).channel()
    try:
        queue = await channel.declare_queue(
            topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
        )
        yield channel, queue
    finally:
        await channel.close()


# How many dead letters one replay or drop looks through (a DLQ should never hold more).
SCAN_LIMIT = 100_000


async def _messages(queue: AbstractQueue, limit: int) -> AsyncIterator[AbstractIncomingMessage]:
    for _ in range(limit):
        message = await queue.get(no_ack=False, fail=False, timeout=5)
        if message is None:
            return
        yield message


async def list_dead_letters(broker: Broker, topology: Topology, *, limit: int) -> list[DeadLetter]:
    """Up to `limit` dead letters, oldest first; all stay in the queue."""
    async with _dead_letter_queue(broker, topology) as (_, queue):
        return [_dead_letter(message) async for message in _messages(queue, limit)]


async def replay(broker: Broker, topology: Topology, chosen: Selection) -> list[str]:
    """Send the chosen dead letters back to the service's queue; the ids replayed."""
    replayed: list[str] = []
    async with _dead_letter_queue(broker, topology) as (channel, queue):
        async for message in _messages(queue, SCAN_LIMIT):
            if not chosen.matches(_dead_letter(message)):
                continue  # left unacknowledged: back in the queue when the channel closes
            headers = {k: v for k, v in message.headers.items() if not k.startswith("x-")}
            copy = aio_pika.Message(
                body=message.body,
                headers=headers,
                message_id=message.message_id,
                type=message.type,
                content_type=message.content_type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            )
            # The channel confirms publishes: the dead letter goes only once the copy is safe.
            await channel.default_exchange.publish(copy, routing_key=topology.queue)
            await message.ack()
            replayed.append(message.message_id or "")
    return replayed


async def drop(broker: Broker, topology: Topology, chosen: Selection) -> list[str]:
    """Delete the chosen dead letters for good; the ids dropped."""
    dropped: list[str] = []
    async with _dead_letter_queue(broker, topology) as (_, queue):
        async for message in _messages(queue, SCAN_LIMIT):
            if chosen.matches(_dead_letter(message)):
                await message.ack()
                dropped.append(message.message_id or "")
    return dropped
