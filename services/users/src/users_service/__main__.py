"""`python -m users_service api|migrate`."""

from shared.entrypoint import run_service_cli
from users_service.main import MIGRATIONS_DIR, create_app
from users_service.settings import Settings

if __name__ == "__main__":
    run_service_cli(
        settings_factory=Settings,
        create_app=create_app,
        migrations_dir=MIGRATIONS_DIR,
    )
