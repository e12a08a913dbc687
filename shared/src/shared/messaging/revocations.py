"""Keeps a replica's RevocationList current: `session.revoked` broadcasts plus snapshots."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping

from aio_pika.abc import AbstractIncomingMessage
from pydantic import ValidationError

from shared.backoff import Backoff
from shared.contracts import SessionRevoked
from shared.events.envelope import Envelope
from shared.messaging.broker import Broker, closed_signal
from shared.messaging.topology import declare_exchange
from shared.revocation import RevocationList
from shared.tasks import wait_set

logger = logging.getLogger("shared.revocations")

Snapshot = Callable[[], Awaitable[Mapping[str, float]]]


class RevocationFeed:
    """Every replica gets every revocation: an exclusive queue per process, bound to the type."""

    def __init__(
        self,
        *,
        revocations: RevocationList,
        broker: Broker,
        exchange: str,
        snapshot: Snapshot | None,
        resync_seconds: float = 30.0,
    ) -> None:
        self._revocations = revocations
        self._broker = broker
        self._exchange = exchange
        self._snapshot = snapshot
        self._resync_seconds = resync_seconds
        self._resync_now = asyncio.Event()

    async def run(self) -> None:
        """Subscribe and resync until cancelled."""
        tasks = [asyncio.create_task(self._subscribe()), asyncio.create_task(self._resync())]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()

    async def _subscribe(self) -> None:
        backoff = Backoff()
        while True:
            try:
                connection = await self._broker.connection()
                channel = await connection.channel()
                exchange = await declare_exchange(channel, self._exchange)
                # Server-named, exclusive, auto-deleted: one per process, gone with it.
                queue = await channel.declare_queue(exclusive=True, auto_delete=True)
                await queue.bind(exchange, routing_key=SessionRevoked.type)
                await queue.consume(self._on_message, no_ack=True)
                # A broadcast sent while this replica was not subscribed is in the snapshot.
                self._resync_now.set()
                backoff.reset()
                await closed_signal(connection, channel).wait()
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.warning("revocation broadcasts unavailable; retrying", exc_info=True)
            await backoff.wait()

    async def _resync(self) -> None:
        if self._snapshot is None:
            return
        backoff = Backoff()
        while True:
            try:
                self._revocations.merge_snapshot(await self._snapshot())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                logger.warning("revocation snapshot failed: %s", exc)
                await backoff.wait()
                continue
            backoff.reset()
            await wait_set(self._resync_now, self._resync_seconds)
            self._resync_now.clear()

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        try:
            envelope = Envelope.model_validate_json(message.body)
            event = SessionRevoked.model_validate(envelope.data)
        except ValidationError:
            logger.error("unreadable session.revoked broadcast %s", message.message_id)
            return
        self._revocations.revoke(str(event.session_id), event.expires_at.timestamp())
