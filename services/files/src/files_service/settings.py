"""Settings of the files service, from FILES_* environment variables."""

from pathlib import Path
from typing import Literal, Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

MIB = 1024 * 1024


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FILES_", extra="ignore", frozen=True)

    service_name: str = "files"

    # The gateway's body limit is derived from the same variable (tools/suite.py).
    max_upload_mib: int = Field(default=50, ge=1, le=1024 * 1024)
    user_quota_mib: int = Field(default=1024, ge=1, description="What one user may store, in MiB.")

    storage_backend: Literal["local", "s3"] = "local"
    storage_dir: Path = Field(
        default=Path(".state/local/files"),
        description="The local backend's folder, shared by the replicas of one host.",
    )
    s3_endpoint_url: str | None = Field(default=None, description="Unset: AWS itself.")
    s3_bucket: str | None = None
    s3_region: str = "us-east-1"
    s3_access_key_id: str | None = None
    s3_secret_access_key: SecretStr | None = None
    s3_addressing_style: Literal["auto", "path", "virtual"] = "auto"
    s3_part_size_mib: int = Field(default=8, ge=5, le=512)  # S3's minimum part is 5 MiB

    @model_validator(mode="after")
    def _s3_needs_a_bucket(self) -> Self:
        if self.storage_backend == "s3" and not self.s3_bucket:
            raise ValueError("FILES_S3_BUCKET is required with FILES_STORAGE_BACKEND=s3")
        return self

    @property
    def max_upload_bytes(self) -> int:
        return self.max_upload_mib * MIB

    @property
    def user_quota_bytes(self) -> int:
        return self.user_quota_mib * MIB
