"""The files service's per-process parts: built once at start-up, shared by requests and handlers."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from files_service.service import UploadLimits
from files_service.settings import Settings
from files_service.storage import Storage, build_storage
from shared.pagination import CursorCodec
from shared.runtime import Runtime


@dataclass(frozen=True)
class Components:
    storage: Storage
    limits: UploadLimits
    cursors: CursorCodec


@contextlib.asynccontextmanager
async def build_components(settings: Settings, _runtime: Runtime) -> AsyncIterator[Components]:
    """The storage backend the settings name, built when the process starts."""
    yield Components(
        storage=build_storage(settings),
        limits=UploadLimits(
            max_file_bytes=settings.max_upload_bytes, quota_bytes=settings.user_quota_bytes
        ),
        cursors=CursorCodec.from_secret(settings.cursor_secret),
    )
