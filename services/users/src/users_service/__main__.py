"""`python -m users_service api|migrate`."""

from shared.entrypoint import run_service_cli
from users_service.main import create_app
from users_service.settings import Settings
from users_service.spec import SPEC

if __name__ == "__main__":
    run_service_cli(spec=SPEC, settings_factory=Settings, create_app=create_app)
