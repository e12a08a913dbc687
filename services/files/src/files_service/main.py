"""The files service's app: its spec, routes, components and event handlers on the shared defaults."""

from fastapi import FastAPI

from files_service.components import build_components
from files_service.consumers import build_handlers
from files_service.router import router
from files_service.settings import Settings
from files_service.spec import SPEC
from shared.web.app import ServiceApp

SERVICE = ServiceApp(
    spec=SPEC, routers=[router], components=build_components, handlers=build_handlers
)


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    return SERVICE.create(settings or Settings())
