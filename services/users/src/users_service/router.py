"""HTTP routes of the users service (thin: status codes, headers, schemas).

The `/me` routes come before `/{user_id}`, so "me" is never read as an id.
"""

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from shared.web.auth import CurrentPrincipal
from shared.web.dependencies import no_store
from shared.web.openapi import problems
from users_service.dependencies import (
    AdminPrincipal,
    CurrentUserId,
    PathUserId,
    ProfileQueriesDep,
    ProfileServiceDep,
)
from users_service.schemas import ProfilePage, ProfileRead, ProfileUpdate, PublicProfileRead

router = APIRouter(prefix="/api/v1/users", tags=["users"])
# The caller's own profile (with the email) is personal data: no cache keeps it.
PRIVATE = [Depends(no_store)]


@router.get("/me", dependencies=PRIVATE, operation_id="users_me", responses=problems(404))
async def get_my_profile(user_id: CurrentUserId, queries: ProfileQueriesDep) -> ProfileRead:
    return await queries.get_profile(user_id=user_id)


@router.patch(
    "/me",
    dependencies=PRIVATE,
    operation_id="users_update_me",
    responses=problems(404, 422, codes={422: ["validation_failed", "invalid_avatar"]}),
)
async def update_my_profile(
    body: ProfileUpdate, user_id: CurrentUserId, service: ProfileServiceDep
) -> ProfileRead:
    profile = await service.update_profile(user_id=user_id, update=body)
    return ProfileRead.model_validate(profile)


@router.delete(
    "/me",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="users_delete_me",
    responses=problems(404),
)
async def delete_my_profile(user_id: CurrentUserId, service: ProfileServiceDep) -> None:
    await service.delete_profile(user_id=user_id)


@router.get(
    "",
    operation_id="users_list",
    responses=problems(400, 403, codes={400: ["invalid_cursor"], 403: ["forbidden"]}),
)
async def list_profiles(
    _admin: AdminPrincipal,
    service: ProfileServiceDep,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query()] = None,
) -> ProfilePage:
    page = await service.list_profiles(limit=limit, cursor=cursor)
    items = [ProfileRead.model_validate(profile) for profile in page.items]
    return ProfilePage(items=items, next_cursor=page.next_cursor)


@router.get("/{user_id}", operation_id="users_get", responses=problems(404))
async def get_profile(
    _caller: CurrentPrincipal, user_id: PathUserId, queries: ProfileQueriesDep
) -> PublicProfileRead:
    return PublicProfileRead.model_validate(await queries.get_profile(user_id=user_id))


@router.delete(
    "/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="users_delete",
    responses=problems(403, 404, codes={403: ["forbidden"]}),
)
async def delete_profile(
    _admin: AdminPrincipal, user_id: PathUserId, service: ProfileServiceDep
) -> None:
    await service.delete_profile(user_id=user_id)
