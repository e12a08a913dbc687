"""Run an app under uvicorn with a drain period: readiness turns 503 at SIGTERM, then the server stops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import FrameType

import uvicorn

# uvloop, uvicorn's default. asyncio's own loop answered the todos list at 128 connections with a
# p99 of 0.39-0.40 s where uvloop took 1.23-1.45 s (uvloop runs newly read requests before the
# writes it deferred: MagicStack/uvloop#123, #631). But asyncio sends a response's head and body
# in two writes, and a replica SIGKILLed between them leaves the gateway a response it can
# neither finish nor retry (make test-chaos: 1 GET in 5,673 cut off). uvloop's one deferred write
# is all or nothing. Coalescing the writes on asyncio's loop would give both; not done yet.
EVENT_LOOP = "uvloop"


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
