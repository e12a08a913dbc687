"""`python -m auth_service api|migrate|grant-admin <username or email>`."""

import asyncio

from auth_service.cli import grant_admin
from auth_service.main import MIGRATIONS_DIR, create_app
from auth_service.settings import Settings
from shared.settings import ServiceSettings


def _settings(settings: ServiceSettings) -> Settings:
    assert isinstance(settings, Settings)
    return settings


if __name__ == "__main__":
    from shared.entrypoint import run_service_cli

    run_service_cli(
        settings_factory=Settings,
        create_app=lambda settings: create_app(_settings(settings)),
        migrations_dir=MIGRATIONS_DIR,
        extra_commands={
            "grant-admin": lambda s, args: asyncio.run(grant_admin(_settings(s), args))
        },
    )
