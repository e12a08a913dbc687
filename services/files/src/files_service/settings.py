"""Settings of the files service, from FILES_* environment variables."""

from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FILES_", extra="ignore", frozen=True)

    service_name: str = "files"
