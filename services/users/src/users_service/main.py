"""The users service's app: its spec, routes, components and event handlers on the shared defaults."""

from fastapi import FastAPI

from shared.web.app import ServiceApp
from users_service.components import build_components
from users_service.consumers import build_handlers
from users_service.router import router
from users_service.settings import Settings
from users_service.spec import SPEC

SERVICE = ServiceApp(
    spec=SPEC, routers=[router], components=build_components, handlers=build_handlers
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    return SERVICE.create(settings or Settings())
