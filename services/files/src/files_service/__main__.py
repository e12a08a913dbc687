"""`python -m files_service api|migrate`."""

from fastapi import FastAPI

from files_service.main import MIGRATIONS_DIR, create_app
from files_service.settings import Settings
from shared.entrypoint import run_service_cli
from shared.settings import ServiceSettings


def _create_app(settings: ServiceSettings) -> FastAPI:
    if not isinstance(settings, Settings):
        raise TypeError("the files service runs with its own Settings")
    return create_app(settings)


if __name__ == "__main__":
    run_service_cli(
        settings_factory=Settings, create_app=_create_app, migrations_dir=MIGRATIONS_DIR
    )
