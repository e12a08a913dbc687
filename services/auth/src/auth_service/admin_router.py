"""HTTP routes of the security log and of admins' controls over accounts (thin, like router)."""

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from auth_service.dependencies import (
    AdminPrincipal,
    AdminServiceDep,
    ClientDep,
    SecurityEventsDep,
)
from auth_service.models import SecurityEvent
from auth_service.schemas import SecurityEventPage, SecurityEventRead, SessionRead
from auth_service.service.audit import EventType
from shared.pagination import Page
from shared.web.auth import CurrentPrincipal
from shared.web.dependencies import no_store
from shared.web.openapi import problems

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=[Depends(no_store)])

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(max_length=512)]
_ADMIN_ONLY = problems(403, 404, codes={403: ["forbidden"], 404: ["not_found"]})
_CHANGES = problems(403, 404, 409, codes={403: ["forbidden"], 409: ["last_admin", "own_account"]})


def _page(page: Page[SecurityEvent]) -> SecurityEventPage:
    items = [SecurityEventRead.model_validate(row) for row in page.items]
    return SecurityEventPage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/events",
    operation_id="auth_events_list",
    responses=problems(400, codes={400: ["invalid_cursor"]}),
)
async def list_my_events(
    principal: CurrentPrincipal,
    events: SecurityEventsDep,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SecurityEventPage:
    """The caller's own security log, newest first."""
    page = await events.page(
        account_id=uuid.UUID(principal.user_id), type_=None, limit=limit, cursor=cursor
    )
    return _page(page)


@router.get(
    "/admin/events",
    operation_id="auth_admin_events_list",
    responses=problems(400, 403, codes={400: ["invalid_cursor"], 403: ["forbidden"]}),
)
async def list_events(
    _admin: AdminPrincipal,
    events: SecurityEventsDep,
    user_id: uuid.UUID | None = None,
    type: EventType | None = None,
    limit: Limit = 20,
    cursor: Cursor = None,
) -> SecurityEventPage:
    """Everyone's security log (or one user's, or one type's), newest first."""
    return _page(await events.page(account_id=user_id, type_=type, limit=limit, cursor=cursor))


@router.post(
    "/admin/users/{user_id}/disable",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_admin_disable",
    responses=_CHANGES,
)
async def disable_account(
    user_id: uuid.UUID, admin: AdminPrincipal, service: AdminServiceDep, client: ClientDep
) -> None:
    """No more logins; every session ends everywhere within a second; `user.disabled`."""
    await service.disable(admin=admin, account_id=user_id, client=client)


@router.post(
    "/admin/users/{user_id}/enable",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_admin_enable",
    responses=_CHANGES,
)
async def enable_account(
    user_id: uuid.UUID, admin: AdminPrincipal, service: AdminServiceDep, client: ClientDep
) -> None:
    """The account may log in again."""
    await service.enable(admin=admin, account_id=user_id, client=client)


@router.get(
    "/admin/users/{user_id}/sessions",
    operation_id="auth_admin_sessions_list",
    responses=_ADMIN_ONLY,
)
async def list_sessions(
    user_id: uuid.UUID, _admin: AdminPrincipal, service: AdminServiceDep
) -> list[SessionRead]:
    """The account's live sessions, newest first."""
    sessions = await service.sessions(account_id=user_id)
    return [SessionRead.of(row, current=False) for row in sessions]


@router.delete(
    "/admin/users/{user_id}/sessions/{session_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_admin_sessions_revoke",
    responses=_ADMIN_ONLY,
)
async def revoke_session(
    user_id: uuid.UUID,
    session_id: uuid.UUID,
    admin: AdminPrincipal,
    service: AdminServiceDep,
    client: ClientDep,
) -> None:
    """End one session of the account, everywhere within a second."""
    await service.revoke_session(
        admin=admin, account_id=user_id, session_id=session_id, client=client
    )


@router.put(
    "/admin/users/{user_id}/roles/admin",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_admin_grant_admin",
    responses=_CHANGES,
)
async def grant_admin(
    user_id: uuid.UUID, admin: AdminPrincipal, service: AdminServiceDep, client: ClientDep
) -> None:
    """Make the account an admin (in its tokens from its next login or refresh)."""
    await service.set_admin(admin=admin, account_id=user_id, granted=True, client=client)


@router.delete(
    "/admin/users/{user_id}/roles/admin",
    status_code=status.HTTP_204_NO_CONTENT,
    operation_id="auth_admin_revoke_admin",
    responses=_CHANGES,
)
async def revoke_admin(
    user_id: uuid.UUID, admin: AdminPrincipal, service: AdminServiceDep, client: ClientDep
) -> None:
    """Take the admin role away (the last admin keeps it)."""
    await service.set_admin(admin=admin, account_id=user_id, granted=False, client=client)
