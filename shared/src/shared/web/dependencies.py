"""Dependencies every service uses: a database session per request, the caller's user id, and
ids read from the path."""

from __future__ import annotations

import inspect
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any, cast

from fastapi import Depends, Path, Response
from sqlalchemy.ext.asyncio import AsyncSession

from shared.runtime import Runtime
from shared.web.auth import CurrentPrincipal
from shared.web.state import get_runtime

Refusal = Callable[[], Exception]


async def get_session(
    runtime: Annotated[Runtime, Depends(get_runtime)],
) -> AsyncIterator[AsyncSession]:
    """A session for this request; the service commits, anything uncommitted is rolled back."""
    async with runtime.sessions() as session:
        yield session


SessionDep = Annotated[AsyncSession, Depends(get_session)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]


async def no_store(response: Response) -> None:
    """For answers with personal data or credentials: no cache keeps them (RFC 9111 5.2.2.5).

    Use as `dependencies=[Depends(no_store)]` on the route."""
    response.headers["Cache-Control"] = "no-store"


def caller_user_id(refuse: Refusal) -> Callable[..., Awaitable[uuid.UUID]]:
    """A dependency giving the caller's user id; auth sets `sub` to the account's uuid, and any
    other subject is refused with `refuse()` (each service says what such a caller lacks)."""

    async def user_id(principal: CurrentPrincipal) -> uuid.UUID:
        try:
            return uuid.UUID(principal.user_id)
        except ValueError:
            raise refuse() from None

    return user_id


def path_id(name: str, missing: Refusal) -> Callable[..., Awaitable[uuid.UUID]]:
    """A dependency reading the path's `{name}` as a uuid; a malformed one names nothing, so it
    is `missing()` (a 404), never a 422."""

    async def parse(**path: str) -> uuid.UUID:
        try:
            return uuid.UUID(path[name])
        except ValueError:
            raise missing() from None

    # FastAPI reads parameters from the signature: declare `{name}` as a path parameter.
    parameter = inspect.Parameter(
        name, inspect.Parameter.KEYWORD_ONLY, annotation=Annotated[str, Path()]
    )
    cast(Any, parse).__signature__ = inspect.Signature([parameter])
    return parse
