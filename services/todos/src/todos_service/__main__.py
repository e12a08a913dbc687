"""`python -m todos_service api|migrate`."""

from shared.entrypoint import run_service_cli
from todos_service.main import create_app
from todos_service.settings import Settings
from todos_service.spec import SPEC

if __name__ == "__main__":
    run_service_cli(spec=SPEC, settings_factory=Settings, create_app=create_app)
