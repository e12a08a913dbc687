"""The idempotent consumer: each event is applied once, in one transaction with its inbox row.

Outcomes: handled -> ack; already in the inbox -> ack (a redelivery); unreadable (bad JSON, unknown
type or version, invalid data) -> reject to the dead-letter queue at once; handler failure -> requeue
after a backoff, until the queue's delivery limit dead-letters it. The failure on the last delivery
the limit allows counts as `dead_lettered` (reason `delivery_limit`), not as `retried`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue
from opentelemetry.trace import SpanKind
from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.backoff import Backoff
from shared.events.envelope import DomainEvent, Envelope, UnsupportedEvent, parse_envelope
from shared.messaging.broker import Broker, closed_signal
from shared.messaging.topology import Topology, declare_consumer_queue
from shared.metrics import (
    DEAD_LETTER_QUEUE_DEPTH,
    EVENTS_CONSUMED,
    EVENTS_DEAD_LETTERED,
    EVENTS_QUEUE_DEPTH,
)
from shared.tasks import wait_set
from shared.telemetry import context_from_headers, tracer

logger = logging.getLogger("shared.consumer")

Handler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]


class EventConsumer:
    """Consumes the service's queue with manual acks and a bounded prefetch."""

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        inbox: Table,
        broker: Broker,
        topology: Topology,
        handlers: Mapping[type[DomainEvent], Handler],
        prefetch: int = 16,
        retry_base_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        depth_seconds: float = 15.0,
    ) -> None:
        self._sessions = session_factory
        self._inbox = inbox
        self._broker = broker
        self._topology = topology
        self._handlers = {contract.type: handler for contract, handler in handlers.items()}
        self._contracts = {contract.type: contract for contract in handlers}
        self._prefetch = prefetch
        self._retry_base = retry_base_seconds
        self._retry_max = retry_max_seconds
        self._depth_seconds = depth_seconds
        self.consuming = asyncio.Event()
        """Set while subscribed to the queue (cleared during broker outages)."""

    async def run(self) -> None:
        """Consume until cancelled; re-subscribes after broker outages."""
        backoff = Backoff()
        # Every (type, reason) the consumer may dead-letter, at 0 from the start: dashboards and
        # alerts on the rate read 0, not "no data", until the first one.
        for event_type in self._handlers:
            for reason in ("rejected", "delivery_limit"):
                EVENTS_DEAD_LETTERED.labels(type=event_type, reason=reason)
        while True:
            try:
                connection = await self._broker.connection()
                channel = await connection.channel()
                await channel.set_qos(prefetch_count=self._prefetch)
                queue = await declare_consumer_queue(channel, self._topology, self._handlers)
                await queue.consume(self.on_message)
                logger.info("consuming %s", self._topology.queue)
                closed = closed_signal(connection, channel)
                self.consuming.set()
                backoff.reset()
                await self._watch_depth(channel, queue, closed)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("consumer of %s down; retrying", self._topology.queue, exc_info=True)
            self.consuming.clear()
            await backoff.wait()

    async def _watch_depth(
        self, channel: AbstractChannel, queue: AbstractQueue, closed: asyncio.Event
    ) -> None:
        """Until the channel closes, export the depth of the queue (the consumer lag) and of its
        dead-letter queue, now and every `depth_seconds`."""
        # Measured here, not at scrape time: a collector runs synchronously inside /metrics, so a
        # broker round trip there would stall the event loop (or need a thread and a connection
        # of its own) on every scrape of every replica. One passive declare per queue on the
        # channel already open costs the broker next to nothing, and a value at most
        # `depth_seconds` old is fresh enough for alerts that wait minutes. During a broker
        # outage the last values stay; `broker_connected` says so.
        dead_letters = await channel.declare_queue(self._topology.dead_letter_queue, passive=True)
        depth = EVENTS_QUEUE_DEPTH.labels(queue=self._topology.queue)
        dead_depth = DEAD_LETTER_QUEUE_DEPTH.labels(queue=self._topology.dead_letter_queue)
        while not closed.is_set():
            with contextlib.suppress(Exception):
                for measured, gauge in ((queue, depth), (dead_letters, dead_depth)):
                    declared = await measured.declare()  # a re-declare answers the count
                    gauge.set(declared.message_count or 0)
            await wait_set(closed, self._depth_seconds)

    async def on_message(self, message: AbstractIncomingMessage) -> None:
        event_type = message.type or "unknown"
        # The handler's span (and its queries) continue the trace the publisher carried.
        with tracer().start_as_current_span(
            f"{event_type} process",
            context=context_from_headers(message.headers),
            kind=SpanKind.CONSUMER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": self._topology.queue,
                "messaging.message.id": message.message_id or "",
            },
        ):
            started = time.perf_counter()
            outcome = await self._handle(message, event_type)
            logger.info(
                "event",
                extra={
                    "event_type": event_type,
                    "event_id": message.message_id,
                    "outcome": outcome,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                },
            )

    async def _handle(self, message: AbstractIncomingMessage, event_type: str) -> str:
        try:
            envelope, event = parse_envelope(message.body, self._contracts)
        except UnsupportedEvent as exc:
            logger.error("dead-lettering message %s: %s", message.message_id, exc)
            EVENTS_CONSUMED.labels(type=event_type, outcome="dead_lettered").inc()
            EVENTS_DEAD_LETTERED.labels(type=event_type, reason="rejected").inc()
            await message.reject(requeue=False)
            return "dead_lettered"
        try:
            applied = await self._apply(envelope, event)
        except Exception:
            return await self._failed(message, envelope)
        outcome = "handled" if applied else "duplicate"
        EVENTS_CONSUMED.labels(type=envelope.type, outcome=outcome).inc()
        await message.ack()
        return outcome

    async def _failed(self, message: AbstractIncomingMessage, envelope: Envelope) -> str:
        """Requeue after a growing pause; on the last delivery the queue's limit allows, requeue
        at once, and the broker dead-letters it (reason `delivery_limit`)."""
        # A quorum queue counts the earlier deliveries that were returned in x-delivery-count (none
        # on the first) and dead-letters a message returned when the count exceeds the limit.
        # A delivery returned by a closing channel (a killed consumer) counts too and can be the
        # one over the limit: no consumer counts that one, the DLQ depth gauge still shows it.
        count = (message.headers or {}).get("x-delivery-count", 0)
        attempt = count if isinstance(count, int) else 0
        last = attempt >= self._topology.delivery_limit
        delay = 0.0 if last else min(self._retry_base * 2**attempt, self._retry_max)
        logger.warning(
            "handler for %s %s failed (attempt %d); %s",
            envelope.type,
            envelope.id,
            attempt + 1,
            "dead-lettering it" if last else f"retrying in {delay:.1f}s",
            exc_info=True,
        )
        outcome = "dead_lettered" if last else "retried"
        EVENTS_CONSUMED.labels(type=envelope.type, outcome=outcome).inc()
        if last:
            EVENTS_DEAD_LETTERED.labels(type=envelope.type, reason="delivery_limit").inc()
        # Holding the message during the pause spaces the retries out; the queue's delivery
        # limit bounds them and then dead-letters the message.
        await asyncio.sleep(delay)
        with contextlib.suppress(Exception):
            await message.nack(requeue=True)
        return outcome

    async def _apply(self, envelope: Envelope, event: DomainEvent) -> bool:
        """Record the event id and run the handler in one transaction; False if seen before."""
        async with self._sessions() as session, session.begin():
            first_time = (
                await session.execute(
                    insert(self._inbox)
                    .values(event_id=envelope.id, type=envelope.type)
                    .on_conflict_do_nothing(index_elements=["event_id"])
                    .returning(self._inbox.c.event_id)
                )
            ).first()
            if first_time is None:
                return False
            await self._handlers[envelope.type](session, event, envelope)
        return True
