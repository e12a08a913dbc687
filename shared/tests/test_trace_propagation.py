"""The caller's W3C trace context reaches the outbox row even when this process exports nothing."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

from shared.db import make_metadata
from shared.events import DomainEvent, define_event_tables, record_event
from shared.telemetry import context_from_headers, current_trace_headers, tracing_enabled
from shared.testing import asgi_client, asyncpg_url
from shared.web.middleware import RequestContextMiddleware

metadata = make_metadata()
tables = define_event_tables(metadata)


class Pinged(DomainEvent):
    type = "test.pinged"


async def test_traceparent_is_stored_with_the_event(
    database_factory: Callable[[str], str],
) -> None:
    assert not tracing_enabled()  # the no-op provider: the cheap path is the one under test
    engine = create_async_engine(asyncpg_url(database_factory("trace")))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    sessions = async_sessionmaker(engine)
    app = FastAPI()
    app.add_middleware(RequestContextMiddleware)

    @app.post("/ping")
    async def ping() -> dict[str, Any]:
        async with sessions() as session:
            await record_event(session, tables.outbox, Pinged(), producer="test")
            await session.commit()
        return {}

    trace_id = secrets.token_hex(16)
    async with asgi_client(app, base_url="http://t") as c:
        sent = await c.post(
            "/ping", headers={"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
        )
        untraced = await c.post("/ping")
    assert sent.status_code == untraced.status_code == 200
    async with sessions() as session:
        headers = (await session.scalars(select(tables.outbox.c.headers))).all()
    await engine.dispose()
    assert [h.get("traceparent", "").split("-")[1:2] for h in headers] in (
        [[trace_id], []],
        [[], [trace_id]],
    )


def test_a_consumer_continues_the_carried_trace() -> None:
    trace_id = secrets.token_hex(16)
    carried = {"traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01"}
    from opentelemetry import context

    token = context.attach(context_from_headers(carried))
    try:
        assert current_trace_headers()["traceparent"].split("-")[1] == trace_id
    finally:
        context.detach(token)
    assert "traceparent" not in current_trace_headers()
