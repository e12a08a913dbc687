from files_service.models import Base
from files_service.settings import Settings
from shared.migrations import run_env

run_env(Base.metadata, default_url=lambda: Settings().async_database_url)  # type: ignore[call-arg]
