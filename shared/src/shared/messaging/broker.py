"""One RabbitMQ connection per process, opened lazily and reopened after outages.

A plain (not "robust") connection: the relay and the consumer already re-establish what they use
after an outage, and a robust one would restore channels and consumers a second time behind them.
"""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractConnection

logger = logging.getLogger("shared.broker")


class Broker:
    """Owns the process's AMQP connection; callers ask for it and get an error while the broker is down."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0, name: str = "") -> None:
        self._url = url
        self._timeout = connect_timeout
        self._name = name
        self._connection: AbstractConnection | None = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """True while the AMQP connection is open (reported, not required, by readiness)."""
        return self._connection is not None and _is_open(self._connection)

    async def connection(self) -> AbstractConnection:
        """The open connection; raises (quickly) when the broker cannot be reached."""
        if self._connection is not None and _is_open(self._connection):
            return self._connection
        async with self._lock:
            if self._connection is None or not _is_open(self._connection):
                if self._connection is not None:
                    await self._close_quietly(self._connection)
                self._connection = await aio_pika.connect(
                    self._url,
                    timeout=self._timeout,
                    client_properties={"connection_name": self._name},
                )
        return self._connection

    async def close(self) -> None:
        if self._connection is not None:
            await self._close_quietly(self._connection)
            self._connection = None

    @staticmethod
    async def _close_quietly(connection: AbstractConnection) -> None:
        try:
            async with asyncio.timeout(5):  # not wait_for: see shared.tasks
                await connection.close()
        except Exception:  # closing a dead connection may fail in many ways; nothing to do then
            logger.debug("closing AMQP connection failed", exc_info=True)


def _is_open(connection: AbstractConnection) -> bool:
    # `is_closed` only reflects an explicit close(); a lost connection clears `connected`.
    return not connection.is_closed and connection.connected.is_set()


def closed_signal(connection: AbstractConnection, channel: AbstractChannel) -> asyncio.Event:
    """An event set when the channel or its connection closes: the cue to subscribe again."""
    closed = asyncio.Event()
    channel.close_callbacks.add(lambda *_: closed.set())
    connection.close_callbacks.add(lambda *_: closed.set())
    return closed
