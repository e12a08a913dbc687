"""Annotated dependencies of the users routes: the service, the caller's id, path ids, roles."""

import uuid
from typing import Annotated

from fastapi import Depends, Path

from shared.tokens import Principal
from shared.web.auth import CurrentPrincipal, require_role
from shared.web.dependencies import SessionDep
from users_service.errors import ProfileNotFound
from users_service.service import ProfileService


def get_profile_service(session: SessionDep) -> ProfileService:
    return ProfileService(session=session)


async def current_user_id(principal: CurrentPrincipal) -> uuid.UUID:
    """The caller's user id: auth sets `sub` to the account's uuid; any other subject has no profile."""
    try:
        return uuid.UUID(principal.user_id)
    except ValueError:
        raise ProfileNotFound() from None


async def path_user_id(user_id: Annotated[str, Path()]) -> uuid.UUID:
    """The `{user_id}` of the path; a malformed one names no profile, so it is a 404, not a 422."""
    try:
        return uuid.UUID(user_id)
    except ValueError:
        raise ProfileNotFound() from None


ProfileServiceDep = Annotated[ProfileService, Depends(get_profile_service)]
CurrentUserId = Annotated[uuid.UUID, Depends(current_user_id)]
PathUserId = Annotated[uuid.UUID, Depends(path_user_id)]
AdminPrincipal = Annotated[Principal, Depends(require_role("admin"))]
