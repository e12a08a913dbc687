"""Service defaults: the FastAPI app every service gets, and the lifespan that builds its parts once.

A service passes its spec, settings, routers, and how to build its components and event handlers;
the runtime (engine, sessions, verifier, broker), readiness checks and background workers are the
same for all and set up here, at start-up, never per request and never at import.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Annotated, Any, Generic, TypeVar

from fastapi import APIRouter, Depends, FastAPI, Response
from opentelemetry.instrumentation.fastapi import FastAPIInstrumentor
from prometheus_client import CONTENT_TYPE_LATEST

from shared.events.envelope import DomainEvent
from shared.messaging.consumer import Handler
from shared.messaging.revocations import Snapshot
from shared.messaging.workers import start_event_workers, start_revocation_feed
from shared.metrics import READY
from shared.revocation import fetch_snapshot
from shared.runtime import Runtime, open_runtime
from shared.settings import ServiceSettings
from shared.spec import ServiceSpec
from shared.tasks import cancel_tasks
from shared.telemetry import tracing_enabled
from shared.web.auth import CurrentPrincipal
from shared.web.cors import install_cors
from shared.web.docs import install_docs
from shared.web.documented import serve_without_documentation_only
from shared.web.exposition import exposition
from shared.web.health import health_router, ready
from shared.web.middleware import RequestContextMiddleware
from shared.web.openapi import DocumentedApp
from shared.web.problems import install_problem_handlers
from shared.web.readiness import register_checks
from shared.web.state import attach_state, get_runtime, process_state

API_VERSION = "1"
S = TypeVar("S", bound=ServiceSettings)
C = TypeVar("C")


@dataclass(frozen=True)
class ServiceApp(Generic[S, C]):
    """Everything a service adds to the defaults: `create(settings)` builds its FastAPI app."""

    spec: ServiceSpec
    routers: Sequence[APIRouter]
    components: Callable[[S, Runtime], AbstractAsyncContextManager[C]]
    """Builds the service's own per-process parts once, and releases them at shutdown."""
    handlers: Callable[[C], Mapping[type[DomainEvent], Handler]]
    """The handler of each event in `spec.consumes`, built from the components."""
    revocation_snapshot: Callable[[S, Runtime], Snapshot] | None = None
    """Where revoked sessions come from; default: the URLs in the `REVOCATIONS_URL` setting."""

    def create(self, settings: S) -> FastAPI:
        """The app, with nothing started: its lifespan builds the runtime and components."""
        return create_service_app(self, settings)


def create_service_app(service: ServiceApp[S, Any], settings: S) -> FastAPI:
    """A FastAPI app with problem details, request context, health, metrics and ping."""
    spec = service.spec
    if settings.service_name != spec.name:
        raise ValueError(f"settings of {settings.service_name!r} given to {spec.name!r}")
    prefix = f"/api/v1/{spec.name}"
    app = DocumentedApp(
        title=spec.title,
        description=spec.description,
        version=API_VERSION,
        lifespan=_lifespan(service, settings),
        docs_url=None,
        redoc_url=None,
        openapi_url=f"{prefix}/openapi.json",
        # Tracing is ours (FastAPIInstrumentor below, only with an exporter). FastAPI's own bridge
        # would ask the OpenTelemetry providers whether they are configured on every request.
        telemetry={"tracing": False, "metrics": False, "logs": False},
    )
    # Paths are a contract: `/todos/` is not `/todos`, and no redirect pretends otherwise.
    app.router.redirect_slashes = False
    install_problem_handlers(app)
    # Inside the request context, so preflight answers carry the request id and headers too.
    install_cors(app, settings.cors_origins)
    app.add_middleware(RequestContextMiddleware)
    if tracing_enabled():
        # Outermost, so the request span covers everything and the request's log line carries
        # its trace id. Probes and scrapes are not traced. Without an exporter the middleware
        # is left out (it costs more than the endpoint); RequestContextMiddleware then still
        # passes an incoming traceparent on to events.
        FastAPIInstrumentor.instrument_app(
            app, excluded_urls="health/liveness,health/readiness,metrics"
        )
    state = attach_state(app)
    app.include_router(health_router(lambda _request: state.health))
    labels = {"service": spec.name, "replica": settings.replica}

    async def metrics() -> Response:
        # Checked per scrape (a query and a ping at most, bounded by the checks' timeout): a
        # gauge set only when something probes readiness would go stale where nothing does.
        READY.set(1 if await ready(state.health) else 0)
        return Response(exposition(labels), media_type=CONTENT_TYPE_LATEST)

    app.add_api_route("/metrics", metrics, include_in_schema=False)
    install_docs(app, prefix=prefix, title=spec.title)
    app.include_router(_ping_router(spec.name))
    for router in service.routers:
        app.include_router(router)
    return app


def _ping_router(name: str) -> APIRouter:
    router = APIRouter(prefix=f"/api/v1/{name}", tags=["meta"])

    @router.get("/ping", operation_id=f"{name}_ping")
    async def ping(
        principal: CurrentPrincipal, runtime: Annotated[Runtime, Depends(get_runtime)]
    ) -> dict[str, Any]:
        """Which replica answered, and for whom: the smallest authenticated round trip."""
        return {
            "service": runtime.settings.service_name,
            "replica": runtime.settings.replica,
            "subject": principal.user_id,
        }

    return router


def _lifespan(
    service: ServiceApp[S, C], settings: S
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        state = process_state(app)
        serve_without_documentation_only(app)
        async with open_runtime(settings) as runtime:
            snapshot = _revocation_source(service, settings, runtime)
            register_checks(
                state.health, runtime, service.spec, tracks_revocations=snapshot is not None
            )
            async with service.components(settings, runtime) as components:
                state.runtime, state.components = runtime, components
                start_revocation_feed(runtime, snapshot=snapshot)
                if settings.run_workers:
                    start_event_workers(runtime, service.spec, service.handlers(components))
                try:
                    yield
                finally:
                    # Workers stop before the components they use are released.
                    await cancel_tasks(runtime.tasks)

    return lifespan


def _revocation_source(
    service: ServiceApp[S, Any], settings: S, runtime: Runtime
) -> Snapshot | None:
    if service.revocation_snapshot is not None:
        return service.revocation_snapshot(settings, runtime)
    urls = [url.strip() for url in (settings.revocations_url or "").split(",") if url]
    if not urls:
        return None

    async def from_urls() -> Mapping[str, float]:
        return await fetch_snapshot(urls)

    return from_urls
