"""The engine's pool on a real PostgreSQL: overload is a 503, a dead idle connection is replaced
unseen, and a compiled read is one statement outside any transaction."""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select, text

import shared.db
from shared.db import CompiledRead, HandoffQueue
from shared.testing import SigningKey, assert_problem, running, runtime_of, service_settings
from todos_service.main import create_app
from todos_service.models import Todo
from todos_service.settings import Settings

TODOS = "/api/v1/todos"


@pytest.fixture(scope="module")
def migrated_url(migrated_database_factory: Callable[[str], str]) -> str:
    return migrated_database_factory("pool")


@contextlib.asynccontextmanager
async def started(
    servers: Any, key: SigningKey, url: str, **overrides: Any
) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    settings = service_settings(
        Settings, database_url=url, amqp_url=servers.amqp_url, key=key, **overrides
    )
    app = create_app(settings)
    async with running(app) as client:
        yield app, client


async def test_a_replica_out_of_connections_answers_503_with_retry_after(
    servers: Any, service_key: SigningKey, migrated_url: str
) -> None:
    pool = {"db_pool_size": 1, "db_max_overflow": 0, "db_pool_timeout_seconds": 0.2}
    async with started(servers, service_key, migrated_url, **pool) as (app, client):
        headers = service_key.headers(uuid.uuid4())
        async with runtime_of(app).engine.connect() as held:
            await held.execute(text("SELECT 1"))
            busy = await client.get(TODOS, headers=headers)
        after = await client.get(TODOS, headers=headers)

    assert_problem(busy, 503, "overloaded")
    assert busy.headers["retry-after"] == "1"
    assert after.status_code == 200, after.text


async def test_an_idle_connection_closed_by_the_server_is_replaced_before_use(
    servers: Any,
    service_key: SigningKey,
    migrated_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Every returned connection counts as idle at once, so its next checkout pings it.
    monkeypatch.setattr(shared.db, "IDLE_PING_SECONDS", 0.0)
    pool = {"db_pool_size": 1, "db_max_overflow": 0}
    async with started(servers, service_key, migrated_url, **pool) as (app, client):
        headers = service_key.headers(uuid.uuid4())
        assert (await client.get(TODOS, headers=headers)).status_code == 200
        async with runtime_of(app).engine.connect() as connection:
            killed = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        outsider = await asyncpg.connect(migrated_url)
        try:
            assert await outsider.fetchval("SELECT pg_terminate_backend($1)", killed)
        finally:
            await outsider.close()

        response = await client.get(TODOS, headers=headers)
        async with runtime_of(app).engine.connect() as connection:
            now = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()

    assert response.status_code == 200, response.text
    assert now != killed


async def test_a_compiled_read_is_one_statement_outside_any_transaction(
    servers: Any, service_key: SigningKey, migrated_url: str
) -> None:
    read = CompiledRead(select(Todo.id).where(Todo.owner_id == uuid.uuid4()).limit(1))
    async with (
        started(servers, service_key, migrated_url) as (app, _),
        runtime_of(app).sessions() as session,
    ):
        assert await read.fetch(session) == []
        connection = await (await session.connection()).get_raw_connection()
        assert not connection.driver_connection.is_in_transaction()


async def test_a_returned_connection_goes_to_the_longest_waiter() -> None:
    queue: HandoffQueue[str] = HandoffQueue()
    first = asyncio.create_task(queue.get())
    second = asyncio.create_task(queue.get())
    await asyncio.sleep(0)

    queue.put_nowait("a")
    # A caller arriving now finds nothing to take: the item is already the first waiter's.
    with pytest.raises(asyncio.QueueEmpty):
        queue.get_nowait()
    queue.put_nowait("b")

    assert [await first, await second] == ["a", "b"]
    queue.put_nowait("c")
    assert queue.get_nowait() == "c"


async def test_an_item_handed_to_a_waiter_that_timed_out_goes_to_the_next() -> None:
    queue: HandoffQueue[str] = HandoffQueue()
    late = asyncio.create_task(queue.get())
    next_one = asyncio.create_task(queue.get())
    await asyncio.sleep(0)

    queue.put_nowait("a")
    late.cancel()  # in the same turn: its timeout fired as the item arrived
    with pytest.raises(asyncio.CancelledError):
        await late

    assert await next_one == "a"
    assert queue.empty()


async def test_a_waiter_that_gave_up_is_skipped() -> None:
    queue: HandoffQueue[str] = HandoffQueue()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(queue.get(), timeout=0.01)

    queue.put_nowait("a")

    assert queue.qsize() == 1
    assert await queue.get() == "a"
