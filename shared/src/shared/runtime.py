"""A process's shared resources: built once at start-up from settings, closed at shutdown.

Every service gets the same ones (database engine and sessions, token verifier, broker connection,
Redis, the revoked-session list); what only one service needs lives in its own components.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import redis.asyncio as aioredis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import QueuePool

from shared.db import build_engine, build_session_factory
from shared.messaging.broker import Broker
from shared.metrics import BROKER_CONNECTED, DB_POOL_CHECKED_OUT, DB_POOL_SIZE
from shared.revocation import RevocationList
from shared.settings import ServiceSettings
from shared.tasks import cancel_tasks
from shared.tokens import TokenVerifier, load_public_keys


@dataclass
class Runtime:
    """Per-process resources; `sessions` is swapped only by tests (to roll back)."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    verifier: TokenVerifier
    broker: Broker
    redis: aioredis.Redis | None
    revocations: RevocationList
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    """Background work (relay, consumer, revocation feed), cancelled first at shutdown."""


@contextlib.asynccontextmanager
async def open_runtime(settings: ServiceSettings) -> AsyncIterator[Runtime]:
    """The process's resources; on exit its tasks are cancelled, then everything is closed."""
    engine = build_engine(settings)
    revocations = RevocationList()
    runtime = Runtime(
        settings=settings,
        engine=engine,
        sessions=build_session_factory(engine),
        verifier=TokenVerifier(
            keys=load_public_keys(settings.jwt_public_keys),
            issuer=settings.jwt_issuer,
            audience=settings.jwt_audience,
            leeway_seconds=settings.jwt_leeway_seconds,
            is_revoked=revocations.is_revoked,
        ),
        broker=Broker(settings.amqp_url, name=f"{settings.service_name}:{settings.replica}"),
        redis=aioredis.from_url(settings.redis_url) if settings.redis_url else None,
        revocations=revocations,
    )
    _export_gauges(runtime)
    try:
        yield runtime
    finally:
        await cancel_tasks(runtime.tasks)
        await runtime.broker.close()
        if runtime.redis is not None:
            await runtime.redis.aclose()
        await engine.dispose()


def _export_gauges(runtime: Runtime) -> None:
    pool = runtime.engine.pool
    if isinstance(pool, QueuePool):
        DB_POOL_CHECKED_OUT.set_function(pool.checkedout)
        DB_POOL_SIZE.set_function(lambda: pool.checkedin() + pool.checkedout())
    BROKER_CONNECTED.set_function(lambda: float(runtime.broker.connected))
