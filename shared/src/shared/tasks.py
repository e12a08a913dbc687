"""Background tasks: waiting on an event with a bound, and stopping tasks for good.

Python 3.11's `asyncio.wait_for` returns normally when the task waiting in it is cancelled in the
same loop cycle as its awaitable completes (python/cpython#86296, fixed in 3.12): the cancellation
is lost, a worker loops on, and a shutdown that awaits it waits forever (an auth test hung so,
waiting for an outbox relay woken as it was cancelled). `asyncio.timeout` counts cancellations and
loses none.
"""

from __future__ import annotations

import asyncio
import contextlib

# How often a task that has not ended is cancelled again while a shutdown waits for it.
RECANCEL_SECONDS = 1.0


async def wait_set(event: asyncio.Event, seconds: float) -> bool:
    """Whether `event` was set within `seconds`; a cancellation always propagates."""
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True


async def cancel_tasks(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait for each to end; what they raise while ending is theirs to log.

    A task still running a second later is cancelled again: a library that swallowed the first
    cancellation must not hold the shutdown."""
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _, pending = await asyncio.wait(pending, timeout=RECANCEL_SECONDS)
    for task in tasks:
        if not task.cancelled():
            with contextlib.suppress(Exception):
                task.exception()  # retrieved: asyncio would otherwise log it as never retrieved
    tasks.clear()
