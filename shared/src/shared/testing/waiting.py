"""Bounded waits for eventual consistency and for servers to answer; free ports."""

from __future__ import annotations

import asyncio
import inspect
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx


def _tries(within: float, message: str) -> Iterator[None]:
    """One pass per try, until `within` seconds have gone by; then fail with `message`."""
    deadline = time.monotonic() + within
    while True:
        yield
        if time.monotonic() > deadline:
            raise AssertionError(message)


async def eventually(
    check: Callable[[], object],
    *,
    within: float = 15.0,
    interval: float = 0.05,
    message: str = "condition not met in time",
) -> None:
    """Wait until `check()` (awaited if it returns an awaitable) is truthy, for `within` s at most."""
    for _ in _tries(within, message):
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            return
        await asyncio.sleep(interval)


async def never(
    check: Callable[[], object],
    *,
    within: float,
    interval: float = 0.05,
    message: str = "condition met",
) -> None:
    """Watch `check()` (awaited if it returns an awaitable) for `within` s; fail once it is
    truthy. Proves that something did not happen in a window, where a bare sleep proves nothing."""
    deadline = time.monotonic() + within
    while True:
        outcome = check()
        if inspect.isawaitable(outcome):
            outcome = await outcome
        if outcome:
            raise AssertionError(message)
        if time.monotonic() > deadline:
            return
        await asyncio.sleep(interval)


def wait_until(check: Callable[[], object], *, within: float, message: str) -> None:
    """`eventually` for code outside an event loop (a server in a subprocess, a sync fixture)."""
    for _ in _tries(within, message):
        if check():
            return
        time.sleep(0.05)


def wait_serving(
    url: str, process: subprocess.Popen[Any], *, within: float, log: Path | None = None
) -> None:
    """Block until `url` answers 200; fail at once (with `log`) if `process` exits first."""

    def answers() -> bool:
        if process.poll() is not None:
            detail = log.read_text() if log is not None else ""
            raise AssertionError(f"the server exited before it was ready\n{detail}")
        try:
            return httpx.get(url, timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(answers, within=within, message=f"{url} not ready within {within} s")


def free_port() -> int:
    """A 127.0.0.1 TCP port nobody listens on (a real outage for whatever is pointed at it)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
