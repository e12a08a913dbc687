"""`python -m auth_service api|migrate|grant-admin <username or email>`."""

from auth_service.cli import COMMANDS
from auth_service.main import create_app
from auth_service.settings import Settings
from auth_service.spec import SPEC
from shared.entrypoint import run_service_cli

if __name__ == "__main__":
    run_service_cli(spec=SPEC, settings_factory=Settings, create_app=create_app, commands=COMMANDS)
