"""The todos service's app: its spec, routes, components and event handlers on the shared defaults."""

from fastapi import FastAPI

from shared.web.app import ServiceApp
from todos_service.components import build_components
from todos_service.consumers import build_handlers
from todos_service.router import router
from todos_service.settings import Settings
from todos_service.spec import SPEC

SERVICE = ServiceApp(
    spec=SPEC, routers=[router], components=build_components, handlers=build_handlers
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    return SERVICE.create(settings or Settings())
