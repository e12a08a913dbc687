"""Serve an app under uvicorn: one response leaves in one write, and a drain period at SIGTERM.

`server_config` is the one place the serving flags live: every service and the bench's ceiling use
it, so a ratio against the ceiling compares apps, not servers.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

# asyncio's loop, not uvloop: at 128 connections uvloop answered the todos list with a p99 of
# 1.23-1.45 s, asyncio with 0.39-0.40 s, because uvloop runs newly read requests before the writes
# it deferred (MagicStack/uvloop#123, #631).
EVENT_LOOP = "asyncio"


class CoalescingTransport(asyncio.Transport):
    """Holds what is written during one step of the event loop, and hands it on in one write.

    uvicorn writes a response's head and body separately. On asyncio's loop each write is a
    `send()` of its own, so a replica killed between the two leaves the gateway a head it can
    neither complete nor retry (`upstream prematurely closed connection`): one GET in 5,673 was cut
    off so in `make test-chaos`. Written together, the response reaches the socket whole or not at
    all, and the gateway retries an idempotent request that got nothing. Closing hands on what is
    held first; aborting drops it, as the transport's own buffer would be.
    """

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        if not self._held:
            self._loop.call_soon(self._flush)
        self._held.append(bytes(data))

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def _flush(self) -> None:
        if not self._held:
            return
        data = self._held[0] if len(self._held) == 1 else b"".join(self._held)
        self._held.clear()
        if not self._transport.is_closing():
            self._transport.write(data)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held.clear()
        self._transport.abort()

    def write_eof(self) -> None:
        self._flush()
        self._transport.write_eof()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._held))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)


class WholeResponseProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, writing through a `CoalescingTransport`."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescingTransport(transport, self.loop))


def server_config(app: Any, *, host: str, port: int, **options: Any) -> uvicorn.Config:
    """uvicorn's configuration for `app`: our loop and protocol, no access log of its own."""
    return uvicorn.Config(
        app,
        host=host,
        port=port,
        loop=EVENT_LOOP,
        http=WholeResponseProtocol,
        access_log=False,
        server_header=False,
        **options,
    )


class DrainingServer(uvicorn.Server):
    """On SIGTERM/SIGINT: call `on_drain` at once, keep serving `drain_seconds`, then shut down.

    In-flight requests still finish during uvicorn's own graceful shutdown that follows. A second
    signal ends the drain at once; a third forces the exit.
    """

    def __init__(
        self, config: uvicorn.Config, *, on_drain: Callable[[], None], drain_seconds: float
    ) -> None:
        super().__init__(config)
        self._on_drain = on_drain
        self._drain_seconds = drain_seconds
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:  # noqa: ARG002 - uvicorn's signature
        # A requested shutdown is a clean exit (status 0): the signal is not recorded, so uvicorn
        # does not re-raise it after shutting down.
        self._on_drain()
        if self.should_exit:
            self.force_exit = True
        elif self._draining or self._drain_seconds <= 0:
            self.should_exit = True
        else:
            self._draining = True
            timer = threading.Timer(self._drain_seconds, self._stop)
            timer.daemon = True
            timer.start()

    def _stop(self) -> None:
        self.should_exit = True
