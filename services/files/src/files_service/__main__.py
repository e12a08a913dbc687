"""`python -m files_service api|migrate`."""

from files_service.main import create_app
from files_service.settings import Settings
from files_service.spec import SPEC
from shared.entrypoint import run_service_cli

if __name__ == "__main__":
    run_service_cli(spec=SPEC, settings_factory=Settings, create_app=create_app)
