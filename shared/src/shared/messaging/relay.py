"""The outbox relay: publishes committed events with confirms and marks them sent.

Several replicas may run it: each batch is claimed with `FOR UPDATE SKIP LOCKED`, so a row is
published by one relay at a time. A crash between publish and mark-as-sent publishes the row again
later: delivery is at least once and consumers are idempotent (the inbox).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from datetime import timedelta
from typing import Any

import aio_pika
import asyncpg
from aio_pika.abc import AbstractConnection, AbstractExchange
from opentelemetry.trace import SpanKind
from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.backoff import Backoff
from shared.events.store import OUTBOX_CHANNEL
from shared.messaging.broker import Broker
from shared.messaging.topology import declare_exchange
from shared.metrics import (
    EVENTS_PUBLISHED,
    OUTBOX_BACKLOG,
    OUTBOX_OLDEST_AGE,
    OUTBOX_PUBLISH_FAILURES,
)
from shared.tasks import wait_set
from shared.telemetry import context_from_headers, current_trace_headers, tracer

logger = logging.getLogger("shared.relay")

MAX_BACKOFF_SECONDS = 60.0


class OutboxRelay:
    """Moves outbox rows to the exchange: woken by NOTIFY after commit, and by a poll as backstop."""

    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Table,
        broker: Broker,
        exchange: str,
        listen_dsn: str,
        publish_timeout: float = 5.0,
        poll_seconds: float = 2.0,
        batch_size: int = 100,
    ) -> None:
        self._sessions = session_factory
        self._outbox = outbox
        self._broker = broker
        self._exchange_name = exchange
        self._listen_dsn = listen_dsn
        self._publish_timeout = publish_timeout
        self._poll_seconds = poll_seconds
        self._batch_size = batch_size
        self._wake = asyncio.Event()
        self._exchange: AbstractExchange | None = None
        self._exchange_connection: AbstractConnection | None = None

    async def run(self) -> None:
        """Publish until cancelled; survives broker and database outages."""
        listener = asyncio.create_task(self._listen(), name="outbox-listen")
        backoff = Backoff(cap=self._poll_seconds)
        try:
            while True:
                try:
                    sent = await self.publish_pending()
                except Exception:
                    logger.warning("outbox relay pass failed; retrying", exc_info=True)
                    await backoff.wait()  # a wake-up cannot help while broker or database is away
                    continue
                backoff.reset()
                if sent >= self._batch_size:
                    continue  # more are waiting: no pause
                await self._measure_backlog()
                await wait_set(self._wake, self._poll_seconds)
                self._wake.clear()
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener

    async def publish_pending(self) -> int:
        """One pass: claim a batch of due rows, publish them, record each outcome. Returns sent."""
        exchange = await self._get_exchange()
        outbox = self._outbox
        async with self._sessions() as session, session.begin():
            rows = (
                await session.execute(
                    select(outbox.c.id, outbox.c.type, outbox.c.envelope, outbox.c.headers)
                    .where(outbox.c.published_at.is_(None), outbox.c.next_attempt_at <= func.now())
                    .order_by(outbox.c.created_at)
                    .limit(self._batch_size)
                    .with_for_update(skip_locked=True)
                )
            ).all()
            if not rows:
                return 0
            # Confirms are pipelined: the whole batch is in flight at once.
            results = await asyncio.gather(
                *(self._publish(exchange, row.type, row.envelope, row.headers) for row in rows),
                return_exceptions=True,
            )
            sent = [row.id for row, error in zip(rows, results, strict=True) if error is None]
            if sent:
                await session.execute(
                    update(outbox).where(outbox.c.id.in_(sent)).values(published_at=func.now())
                )
            for row, error in zip(rows, results, strict=True):
                if error is not None:
                    await self._record_failure(session, row.id, row.type, error)
        return len(sent)

    async def _measure_backlog(self) -> None:
        """Export how much waits and for how long: a broker outage shows here first."""
        outbox = self._outbox
        try:
            async with self._sessions() as session:
                count, oldest = (
                    await session.execute(
                        select(
                            func.count(),
                            func.extract("epoch", func.now() - func.min(outbox.c.created_at)),
                        ).where(outbox.c.published_at.is_(None))
                    )
                ).one()
        except Exception:
            logger.warning("outbox backlog not measurable", exc_info=True)
            return
        OUTBOX_BACKLOG.set(count)
        OUTBOX_OLDEST_AGE.set(float(oldest or 0.0))

    async def _publish(
        self, exchange: AbstractExchange, event_type: str, envelope: dict[str, Any], headers: Any
    ) -> None:
        # The span continues the trace of the request that recorded the event.
        with tracer().start_as_current_span(
            f"{event_type} publish",
            context=context_from_headers(headers),
            kind=SpanKind.PRODUCER,
            attributes={
                "messaging.system": "rabbitmq",
                "messaging.destination.name": exchange.name,
                "messaging.message.id": str(envelope["id"]),
            },
        ):
            message = aio_pika.Message(
                body=json.dumps(envelope, separators=(",", ":")).encode(),
                content_type="application/json",
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                message_id=str(envelope["id"]),
                type=event_type,
                app_id=str(envelope.get("producer", "")),
                headers={**(headers or {}), **current_trace_headers()},
            )
            # A publish on a half-dead connection can hang: every publish is bounded.
            await exchange.publish(
                message, routing_key=event_type, mandatory=True, timeout=self._publish_timeout
            )
        EVENTS_PUBLISHED.labels(type=event_type).inc()
        # The failure series of every type published, at 0 until one fails: a failure rate
        # then reads 0 where it would otherwise be "no data".
        OUTBOX_PUBLISH_FAILURES.labels(type=event_type)

    async def _record_failure(
        self, session: AsyncSession, row_id: Any, event_type: str, error: BaseException
    ) -> None:
        OUTBOX_PUBLISH_FAILURES.labels(type=event_type).inc()
        outbox = self._outbox
        attempts = outbox.c.attempts + 1
        backoff = func.least(func.power(2, outbox.c.attempts), MAX_BACKOFF_SECONDS)
        await session.execute(
            update(outbox)
            .where(outbox.c.id == row_id)
            .values(
                attempts=attempts,
                last_error=f"{type(error).__name__}: {error}"[:500],
                next_attempt_at=func.now() + backoff * timedelta(seconds=1),
            )
        )
        logger.warning("publish of %s %s failed: %r", event_type, row_id, error)
        if not isinstance(error, aio_pika.exceptions.DeliveryError):
            self._exchange = None  # the channel is suspect: open a fresh one next pass

    async def _get_exchange(self) -> AbstractExchange:
        connection = await self._broker.connection()
        if self._exchange is None or self._exchange_connection is not connection:
            channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
            self._exchange = await declare_exchange(channel, self._exchange_name)
            self._exchange_connection = connection
        return self._exchange

    async def _listen(self) -> None:
        """Hold a LISTEN connection; reconnect after database outages."""
        backoff = Backoff(cap=self._poll_seconds)
        while True:
            try:
                connection = await asyncpg.connect(self._listen_dsn, timeout=5)
                try:
                    lost = asyncio.Event()
                    connection.add_termination_listener(lambda _, lost=lost: lost.set())
                    await connection.add_listener(OUTBOX_CHANNEL, self._on_notify)
                    backoff.reset()
                    self._wake.set()  # catch up on anything committed while not listening
                    await lost.wait()
                finally:
                    await connection.close(timeout=2)
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("outbox LISTEN connection lost; reconnecting", exc_info=True)
                await backoff.wait()

    def _on_notify(self, *_: object) -> None:
        self._wake.set()
