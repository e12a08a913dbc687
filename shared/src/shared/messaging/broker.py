"""One robust RabbitMQ connection per process, opened lazily and reopened after outages."""

from __future__ import annotations

import asyncio
import logging

import aio_pika
from aio_pika.abc import AbstractRobustConnection

logger = logging.getLogger("shared.broker")


class Broker:
    """Owns the process's AMQP connection; callers ask for it and get an error while the broker is down."""

    def __init__(self, url: str, *, connect_timeout: float = 5.0, name: str = "") -> None:
        self._url = url
        self._timeout = connect_timeout
        self._name = name
        self._connection: AbstractRobustConnection | None = None
        self._lock = asyncio.Lock()

    @property
    def connected(self) -> bool:
        """True while the AMQP connection is open (reported, not required, by readiness)."""
        return self._connection is not None and not self._connection.is_closed

    async def connection(self) -> AbstractRobustConnection:
        """The open connection; raises (quickly) when the broker cannot be reached."""
        if self._connection is not None and not self._connection.is_closed:
            return self._connection
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                if self._connection is not None:
                    await self._close_quietly(self._connection)
                self._connection = await aio_pika.connect_robust(
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
    async def _close_quietly(connection: AbstractRobustConnection) -> None:
        try:
            await asyncio.wait_for(connection.close(), timeout=5)
        except Exception:  # closing a dead connection may fail in many ways; nothing to do then
            logger.debug("closing AMQP connection failed", exc_info=True)
