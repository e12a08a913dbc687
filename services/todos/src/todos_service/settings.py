"""Settings of the todos service, from TODOS_* environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TODOS_", extra="ignore", frozen=True)

    service_name: str = "todos"
