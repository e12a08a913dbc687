"""Where the files' bytes live: one interface, a local-folder and an S3-compatible backend."""

from files_service.settings import MIB, Settings
from files_service.storage.base import BlobNotFound, BlobWriter, Storage
from files_service.storage.local import LocalStorage
from files_service.storage.s3 import S3Storage, build_client

__all__ = ["BlobNotFound", "BlobWriter", "LocalStorage", "S3Storage", "Storage", "build_storage"]


def build_storage(settings: Settings) -> Storage:
    """The backend `FILES_STORAGE_BACKEND` names, built once per process."""
    if settings.storage_backend == "local":
        return LocalStorage(root=settings.storage_dir)
    secret = settings.s3_secret_access_key
    client = build_client(
        endpoint_url=settings.s3_endpoint_url,
        region=settings.s3_region,
        access_key_id=settings.s3_access_key_id,
        secret_access_key=secret.get_secret_value() if secret is not None else None,
        addressing_style=settings.s3_addressing_style,
    )
    return S3Storage(
        client=client,
        bucket=settings.s3_bucket or "",  # the settings refuse s3 without a bucket
        part_size=settings.s3_part_size_mib * MIB,
    )
