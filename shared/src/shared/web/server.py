"""Run an app under uvicorn with a drain period: readiness turns 503 at SIGTERM, then the server stops."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import FrameType

import uvicorn


class DrainingServer(uvicorn.Server):
    """On SIGTERM/SIGINT: call `on_drain` at once, keep serving `drain_seconds`, then shut down.

    In-flight requests still finish during uvicorn's own graceful shutdown that follows.
    """

    def __init__(
        self, config: uvicorn.Config, *, on_drain: Callable[[], None], drain_seconds: float
    ) -> None:
        super().__init__(config)
        self._on_drain = on_drain
        self._drain_seconds = drain_seconds
        self._draining = False

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if self._draining or self._drain_seconds <= 0:
            self._on_drain()
            super().handle_exit(sig, frame)  # a second signal forces the exit
            return
        self._draining = True
        self._on_drain()
        timer = threading.Timer(self._drain_seconds, super().handle_exit, args=(sig, frame))
        timer.daemon = True
        timer.start()
