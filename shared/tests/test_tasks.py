"""Stopping background tasks: no cancellation lost, no shutdown held by a task that ignores one."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from shared.tasks import cancel_tasks, wait_set


async def test_wait_set_says_whether_the_event_came_in_time() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 0.01) is True


async def test_a_worker_cancelled_as_its_event_is_set_stops() -> None:
    # An outbox relay woken by a commit in the same loop cycle as the shutdown cancels it: with
    # Python 3.11's asyncio.wait_for in its place the cancellation is lost and the relay loops on.
    event = asyncio.Event()

    async def relay() -> None:
        while True:
            await wait_set(event, 60)
            event.clear()

    task = asyncio.create_task(relay())
    await asyncio.sleep(0)
    event.set()
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        async with asyncio.timeout(5):
            await task
    assert task.cancelled()


async def test_a_task_that_swallows_its_cancellation_is_cancelled_again() -> None:
    async def stubborn() -> None:
        with contextlib.suppress(asyncio.CancelledError):  # a library that swallows it
            await asyncio.sleep(60)
        await asyncio.sleep(60)

    task = asyncio.create_task(stubborn())
    finished = asyncio.create_task(asyncio.sleep(0))
    await asyncio.sleep(0)
    tasks = [task, finished]
    async with asyncio.timeout(5):
        await cancel_tasks(tasks)
    assert task.cancelled()
    assert tasks == []


async def test_what_a_task_raised_while_ending_does_not_escape() -> None:
    async def crashes_when_stopped() -> None:
        try:
            await asyncio.sleep(60)
        except asyncio.CancelledError:
            raise RuntimeError("failed while stopping") from None

    task = asyncio.create_task(crashes_when_stopped())
    await asyncio.sleep(0)
    await cancel_tasks([task])
    assert isinstance(task.exception(), RuntimeError)


@pytest.mark.parametrize("seconds", [0.0, 0.001])
async def test_wait_set_with_no_time_left_is_false(seconds: float) -> None:
    assert await wait_set(asyncio.Event(), seconds) is False
