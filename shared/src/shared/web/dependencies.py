"""Dependencies every service uses: a database session per request, and the cursor codec."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from shared.pagination import CursorCodec


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session for this request; the service commits, anything uncommitted is rolled back."""
    async with request.app.state.runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]


def get_cursors(request: Request) -> CursorCodec:
    """The process's cursor codec (one secret per service)."""
    cursors: CursorCodec = request.app.state.runtime.cursors
    return cursors


CursorsDep = Annotated[CursorCodec, Depends(get_cursors)]
