"""The files service's app factory."""

from pathlib import Path

from fastapi import FastAPI

from files_service.consumers import build_handlers
from files_service.models import EVENT_TABLES
from files_service.router import router
from files_service.service import UploadLimits
from files_service.settings import Settings
from files_service.storage import Storage, build_storage
from shared.web.app import Runtime, ServiceSpec, create_service_app

MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app; settings come from the environment unless given (tests)."""
    settings = settings or Settings()
    limits = UploadLimits(
        max_file_bytes=settings.max_upload_bytes, quota_bytes=settings.user_quota_bytes
    )

    async def on_startup(app: FastAPI, _runtime: Runtime) -> None:
        app.state.storage = build_storage(settings)
        app.state.upload_limits = limits

    def storage() -> Storage:
        # `app` is bound below; handlers run only after start-up has set the backend.
        backend: Storage = app.state.storage
        return backend

    app = create_service_app(
        ServiceSpec(
            title="Files",
            settings=settings,
            routers=[router],
            event_tables=EVENT_TABLES,
            migrations_dir=MIGRATIONS_DIR,
            handlers=build_handlers(storage=storage, limits=limits),
            on_startup=on_startup,
        )
    )
    return app
