"""The users service's app factory."""

from pathlib import Path

from fastapi import FastAPI

from shared.settings import ServiceSettings
from shared.web.app import ServiceSpec, create_service_app
from users_service.consumers import HANDLERS
from users_service.models import EVENT_TABLES
from users_service.router import router
from users_service.settings import Settings

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    return create_service_app(
        ServiceSpec(
            title="Users",
            settings=settings or Settings(),
            routers=[router],
            event_tables=EVENT_TABLES,
            migrations_dir=MIGRATIONS_DIR,
            handlers=HANDLERS,
        )
    )
