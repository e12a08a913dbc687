"""Settings choose the storage backend; the app builds it once, at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from files_service.main import create_app
from files_service.settings import MIB, Settings
from files_service.storage import LocalStorage, S3Storage, build_storage
from shared.web.state import process_state

REQUIRED = {"database_url": "postgresql://u:p@127.0.0.1:1/files", "jwt_public_keys": "unused"}


def test_defaults() -> None:
    settings = Settings(**REQUIRED)
    assert (settings.max_upload_bytes, settings.user_quota_bytes) == (50 * MIB, 1024 * MIB)
    assert settings.storage_backend == "local"
    assert settings.storage_dir == Path(".state/local/files")


def test_settings_come_from_files_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FILES_MAX_UPLOAD_MIB", "7")
    monkeypatch.setenv("FILES_USER_QUOTA_MIB", "9")
    monkeypatch.setenv("FILES_STORAGE_DIR", "/srv/files")
    settings = Settings(**REQUIRED)
    assert (settings.max_upload_bytes, settings.user_quota_bytes) == (7 * MIB, 9 * MIB)
    assert settings.storage_dir == Path("/srv/files")


@pytest.mark.parametrize(
    "overrides",
    [
        {"storage_backend": "s3"},
        {"storage_backend": "azure"},
        {"s3_part_size_mib": 4},
        {"max_upload_mib": 0},
        {"user_quota_mib": 0},
    ],
)
def test_invalid_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Settings(**REQUIRED, **overrides)


def test_the_local_backend_is_the_default(tmp_path: Path) -> None:
    storage = build_storage(Settings(**REQUIRED, storage_dir=tmp_path))
    assert isinstance(storage, LocalStorage)


async def test_an_s3_backend_from_settings_stores_and_reads(s3_server: Any) -> None:
    s3_server.client.create_bucket(Bucket="from-settings")
    settings = Settings(
        **REQUIRED,
        storage_backend="s3",
        s3_endpoint_url=s3_server.endpoint,
        s3_bucket="from-settings",
        s3_access_key_id="testing",
        s3_secret_access_key="testing",
        s3_addressing_style="path",
    )
    storage = build_storage(settings)
    assert isinstance(storage, S3Storage)
    writer = await storage.open_writer("k1")
    await writer.write(b"via settings")
    await writer.commit()
    assert (
        b"".join([c async for c in await storage.read("k1", start=0, stop=12)]) == b"via settings"
    )


async def test_nothing_is_built_before_start_up(tmp_path: Path) -> None:
    app = create_app(Settings(**REQUIRED, storage_dir=tmp_path, run_workers=False))
    # Nothing is built at import or in create_app: components come with the lifespan.
    assert process_state(app).components is None
