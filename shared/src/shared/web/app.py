"""Service defaults: the FastAPI app every service gets, and the runtime its lifespan builds once.

A service passes its settings, routers, event tables and handlers; everything per-process (engine,
session factory, token verifier, broker connection, relay and consumer tasks) is created here at
start-up and closed at shutdown, never per request and never at import.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from alembic.config import Config as AlembicConfig
from alembic.script import ScriptDirectory
from fastapi import APIRouter, FastAPI, Request, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.db import build_engine, build_session_factory
from shared.events.envelope import DomainEvent
from shared.events.store import EventTables
from shared.messaging.broker import Broker
from shared.messaging.consumer import EventConsumer, Handler
from shared.messaging.relay import OutboxRelay
from shared.messaging.revocations import RevocationFeed, Snapshot
from shared.messaging.topology import Topology
from shared.metrics import BROKER_CONNECTED, DB_POOL_CHECKED_OUT, DB_POOL_SIZE
from shared.pagination import CursorCodec
from shared.revocation import RevocationList, fetch_snapshot
from shared.settings import ServiceSettings
from shared.telemetry import tracing_enabled
from shared.tokens import TokenVerifier, load_public_keys
from shared.web.auth import CurrentPrincipal
from shared.web.health import HealthState
from shared.web.health import router as health_router
from shared.web.middleware import RequestContextMiddleware
from shared.web.problems import install_problem_handlers


@dataclass(frozen=True)
class ServiceSpec:
    """What makes a service itself; the rest is the same for all of them."""

    title: str
    settings: ServiceSettings
    routers: Sequence[APIRouter]
    event_tables: EventTables
    migrations_dir: Path
    handlers: Mapping[type[DomainEvent], Handler] = field(default_factory=dict)
    requires_redis: bool = False
    on_startup: Callable[[FastAPI, Runtime], Awaitable[None]] | None = None
    """Builds the service's own per-process components (kept on `app.state`)."""
    on_shutdown: Callable[[FastAPI, Runtime], Awaitable[None]] | None = None
    """Releases them, after the workers stopped and before the engine closes."""
    revocation_snapshot: Callable[[Runtime], Snapshot] | None = None
    """Where revoked sessions come from; default: the auth service's internal endpoint."""


@dataclass
class Runtime:
    """Per-process resources, kept in `app.state.runtime`."""

    settings: ServiceSettings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    verifier: TokenVerifier
    broker: Broker
    redis: aioredis.Redis | None
    revocations: RevocationList
    cursors: CursorCodec
    tasks: list[asyncio.Task[None]] = field(default_factory=list)


def migrations_head(migrations_dir: Path) -> str | None:
    """The head revision the database must be at for this code to run."""
    return _scripts(migrations_dir).get_current_head()


def _scripts(migrations_dir: Path) -> ScriptDirectory:
    config = AlembicConfig()
    config.set_main_option("script_location", str(migrations_dir))
    return ScriptDirectory.from_config(config)


def plain_dsn(settings: ServiceSettings) -> str:
    """The database URL without a SQLAlchemy driver suffix, as asyncpg wants it."""
    url = settings.async_database_url
    return "postgresql://" + url.partition("://")[2]


def create_service_app(spec: ServiceSpec) -> FastAPI:
    """A FastAPI app with problem details, request context, health, metrics and ping."""
    settings = spec.settings
    prefix = f"/api/v1/{settings.service_name}"
    app = FastAPI(
        title=spec.title,
        lifespan=_lifespan(spec),
        docs_url=f"{prefix}/docs",
        redoc_url=None,
        openapi_url=f"{prefix}/openapi.json",
    )
    # Paths are a contract: `/todos/` is not `/todos`, and no redirect pretends otherwise.
    app.router.redirect_slashes = False
    install_problem_handlers(app)
    app.add_middleware(RequestContextMiddleware)
    if tracing_enabled():
        # Outermost, so the request span covers everything and the request's log line carries
        # its trace id. Probes and scrapes are not traced. Without an exporter the middleware
        # is left out (it costs more than the endpoint); RequestContextMiddleware then still
        # passes an incoming traceparent on to events.
        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="health/liveness,health/readiness,metrics"
        )
    app.state.spec = spec
    app.state.health = HealthState()
    app.include_router(health_router)
    app.add_api_route("/metrics", _metrics, include_in_schema=False)
    app.include_router(_ping_router(prefix))
    for router in spec.routers:
        app.include_router(router)
    return app


def _ping_router(prefix: str) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["meta"])

    @router.get("/ping")
    async def ping(request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
        """Which replica answered, and for whom: the smallest authenticated round trip."""
        settings: ServiceSettings = request.app.state.runtime.settings
        return {
            "service": settings.service_name,
            "replica": settings.replica,
            "subject": principal.user_id,
        }

    return router


async def _metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


def _lifespan(spec: ServiceSpec):  # type: ignore[no-untyped-def]
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings = spec.settings
        engine = build_engine(settings)
        DB_POOL_CHECKED_OUT.set_function(lambda: engine.pool.checkedout())  # type: ignore[attr-defined]
        DB_POOL_SIZE.set_function(lambda: engine.pool.checkedin() + engine.pool.checkedout())  # type: ignore[attr-defined]
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
            cursors=CursorCodec(settings.cursor_secret.get_secret_value().encode()),
        )
        BROKER_CONNECTED.set_function(lambda: float(runtime.broker.connected))
        app.state.runtime = runtime
        app.state.token_verifier = runtime.verifier
        snapshot = _revocation_source(runtime, spec)
        _register_checks(app.state.health, runtime, spec, tracks_revocations=snapshot is not None)
        if spec.on_startup is not None:
            await spec.on_startup(app, runtime)
        feed = RevocationFeed(
            revocations=revocations,
            broker=runtime.broker,
            exchange=settings.events_exchange,
            snapshot=snapshot,
            resync_seconds=settings.revocation_resync_seconds,
        )
        runtime.tasks.append(asyncio.create_task(feed.run(), name="revocation-feed"))
        if settings.run_workers:
            runtime.tasks += _start_workers(runtime, spec)
        try:
            yield
        finally:
            for task in runtime.tasks:
                task.cancel()
            for task in runtime.tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            if spec.on_shutdown is not None:
                await spec.on_shutdown(app, runtime)
            await runtime.broker.close()
            if runtime.redis is not None:
                await runtime.redis.aclose()
            await engine.dispose()

    return lifespan


def _revocation_source(runtime: Runtime, spec: ServiceSpec) -> Snapshot | None:
    if spec.revocation_snapshot is not None:
        return spec.revocation_snapshot(runtime)
    urls = [url.strip() for url in (runtime.settings.revocations_url or "").split(",") if url]
    if not urls:
        return None

    async def from_auth() -> Mapping[str, float]:
        return await fetch_snapshot(urls)

    return from_auth


def _register_checks(
    health: HealthState, runtime: Runtime, spec: ServiceSpec, *, tracks_revocations: bool
) -> None:
    scripts = _scripts(spec.migrations_dir)
    head = scripts.get_current_head()
    older = {script.revision for script in scripts.walk_revisions()} - {head}

    async def database() -> None:
        async with runtime.engine.connect() as connection:
            current = (
                await connection.execute(text("SELECT version_num FROM alembic_version"))
            ).scalar_one_or_none()
        # Behind the code (or empty) is not ready. A revision this code does not know was made by
        # a newer release (migrations are expand-then-contract), so during a rolling deploy the
        # old replicas keep serving instead of all turning unready at once.
        if current is None or current in older:
            raise RuntimeError(f"migrations at {current}, code expects {head}")

    async def broker() -> None:
        await runtime.broker.connection()

    health.required["database"] = database
    if runtime.redis is not None:
        client = runtime.redis

        async def redis_check() -> None:
            await client.ping()

        (health.required if spec.requires_redis else health.optional)["redis"] = redis_check
    health.optional["broker"] = broker
    if tracks_revocations:

        async def revocations() -> None:
            # Until the first snapshot, a revoked token could pass: not ready to serve.
            if runtime.revocations.synced_at is None:
                raise RuntimeError("revoked sessions not loaded yet")

        health.required["revocations"] = revocations


def _start_workers(runtime: Runtime, spec: ServiceSpec) -> list[asyncio.Task[None]]:
    settings = runtime.settings
    relay = OutboxRelay(
        session_factory=runtime.sessions,
        outbox=spec.event_tables.outbox,
        broker=runtime.broker,
        exchange=settings.events_exchange,
        listen_dsn=plain_dsn(settings),
        publish_timeout=settings.publish_timeout_seconds,
        poll_seconds=settings.outbox_poll_seconds,
    )
    tasks = [asyncio.create_task(relay.run(), name="outbox-relay")]
    if spec.handlers:
        consumer = EventConsumer(
            session_factory=runtime.sessions,
            inbox=spec.event_tables.inbox,
            broker=runtime.broker,
            topology=Topology(
                exchange=settings.events_exchange,
                service=settings.service_name,
                delivery_limit=settings.events_delivery_limit,
            ),
            handlers=spec.handlers,
            prefetch=settings.events_prefetch,
        )
        tasks.append(asyncio.create_task(consumer.run(), name="event-consumer"))
    return tasks
