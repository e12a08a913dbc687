"""The todos service's per-process parts: built once at start-up, shared by requests and handlers."""

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from shared.pagination import CursorCodec
from shared.runtime import Runtime
from todos_service.settings import Settings


@dataclass(frozen=True)
class Components:
    cursors: CursorCodec


@contextlib.asynccontextmanager
async def build_components(settings: Settings, _runtime: Runtime) -> AsyncIterator[Components]:
    """Built when the process starts; nothing to release at shutdown."""
    yield Components(cursors=CursorCodec.from_secret(settings.cursor_secret))
