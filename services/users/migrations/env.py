from shared.migrations import run_env
from users_service.models import Base
from users_service.settings import Settings

run_env(Base.metadata, default_url=lambda: Settings().async_database_url)  # type: ignore[call-arg]
