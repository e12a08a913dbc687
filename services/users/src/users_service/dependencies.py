"""Annotated dependencies of the users routes: the service, the caller's id, path ids, roles."""

import uuid
from typing import Annotated

from fastapi import Depends

from shared.tokens import Principal
from shared.web.auth import require_role
from shared.web.dependencies import RuntimeDep, SessionDep, caller_user_id, path_id
from shared.web.state import components_dependency
from users_service.components import Components
from users_service.errors import ProfileNotFound
from users_service.service import ProfileQueries, ProfileService

ComponentsDep = Annotated[Components, Depends(components_dependency(Components))]


async def get_profile_service(session: SessionDep, components: ComponentsDep) -> ProfileService:
    return ProfileService(session=session, cursors=components.cursors)


async def get_profile_queries(runtime: RuntimeDep) -> ProfileQueries:
    # The factory, looked up per request: tests swap it for one bound to their transaction.
    return ProfileQueries(sessions=runtime.sessions)


ProfileServiceDep = Annotated[ProfileService, Depends(get_profile_service)]
ProfileQueriesDep = Annotated[ProfileQueries, Depends(get_profile_queries)]
# A subject that is no user id has no profile; a malformed path id names none (404, not 422).
CurrentUserId = Annotated[uuid.UUID, Depends(caller_user_id(ProfileNotFound))]
PathUserId = Annotated[uuid.UUID, Depends(path_id("user_id", ProfileNotFound))]
AdminPrincipal = Annotated[Principal, Depends(require_role("admin"))]
