from shared.migrations import run_env
from todos_service.models import Base
from todos_service.settings import Settings

run_env(Base.metadata, default_url=lambda: Settings().async_database_url)  # type: ignore[call-arg]
