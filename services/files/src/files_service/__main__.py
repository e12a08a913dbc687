"""`python -m files_service api|migrate`."""

from files_service.main import MIGRATIONS_DIR, create_app
from files_service.settings import Settings
from shared.entrypoint import run_service_cli

if __name__ == "__main__":
    run_service_cli(
        settings_factory=Settings,
        create_app=create_app,
        migrations_dir=MIGRATIONS_DIR,
    )
