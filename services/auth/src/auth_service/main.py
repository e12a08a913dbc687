"""The auth service's app factory."""

from pathlib import Path

from fastapi import FastAPI

from auth_service.consumers import HANDLERS
from auth_service.models import EVENT_TABLES
from auth_service.router import router
from auth_service.settings import Settings
from shared.settings import ServiceSettings
from shared.web.app import ServiceSpec, create_service_app

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: ServiceSettings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    return create_service_app(
        ServiceSpec(
            title="Auth",
            settings=settings or Settings(),
            routers=[router],
            event_tables=EVENT_TABLES,
            migrations_dir=MIGRATIONS_DIR,
            handlers=HANDLERS,
            requires_redis=True,  # login throttling and short-lived auth state live there
        )
    )
