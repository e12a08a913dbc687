"""The auth service's app: its spec, routes, components and event handlers on the shared defaults."""

from fastapi import FastAPI

from auth_service import admin_router, mfa_router, oidc_router
from auth_service.components import build_components, revocations_from_database
from auth_service.consumers import build_handlers
from auth_service.router import internal_router, public_router, router
from auth_service.settings import Settings
from auth_service.spec import SPEC
from shared.web.app import ServiceApp

SERVICE = ServiceApp(
    spec=SPEC,
    routers=[
        router,
        mfa_router.router,
        oidc_router.router,
        admin_router.router,
        public_router,
        internal_router,
    ],
    components=build_components,
    handlers=build_handlers,
    revocation_snapshot=revocations_from_database,
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    return SERVICE.create(settings or Settings())
