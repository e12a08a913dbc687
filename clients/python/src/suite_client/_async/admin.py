"""The security log and admins' controls over accounts: /api/v1/auth/events, /api/v1/auth/admin."""

from __future__ import annotations

import uuid
from typing import Literal

from pydantic import TypeAdapter

from suite_client._async.base import AsyncBase
from suite_client.body import segment
from suite_client.models import SecurityEventPage, SessionRead
from suite_client.operation import operation

_SESSIONS = TypeAdapter(list[SessionRead])
EventType = Literal[
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "password_changed",
    "password_reset",
    "email_verified",
    "session_revoked",
    "account_disabled",
    "account_enabled",
    "role_granted",
    "role_revoked",
    "mfa_enabled",
    "mfa_disabled",
]


def _user(user_id: uuid.UUID | str) -> str:
    return f"/api/v1/auth/admin/users/{segment(user_id)}"


class AsyncAdmin(AsyncBase):
    @operation("GET", "/api/v1/auth/events")
    async def auth_events_list(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> SecurityEventPage:
        """The caller's own security log, newest first."""
        response = await self._send(
            "GET", "/api/v1/auth/events", params={"limit": limit, "cursor": cursor}
        )
        return SecurityEventPage.model_validate_json(response.content)

    @operation("GET", "/api/v1/auth/admin/events")
    async def auth_admin_events_list(
        self,
        *,
        user_id: uuid.UUID | str | None = None,
        type: EventType | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> SecurityEventPage:
        """Everyone's security log, or one user's or one type's (admins only)."""
        params = {"user_id": user_id, "type": type, "limit": limit, "cursor": cursor}
        response = await self._send("GET", "/api/v1/auth/admin/events", params=params)
        return SecurityEventPage.model_validate_json(response.content)

    @operation("POST", "/api/v1/auth/admin/users/{user_id}/disable")
    async def auth_admin_disable(self, user_id: uuid.UUID | str) -> None:
        """No more logins for the account; its sessions end everywhere."""
        await self._send("POST", f"{_user(user_id)}/disable")

    @operation("POST", "/api/v1/auth/admin/users/{user_id}/enable")
    async def auth_admin_enable(self, user_id: uuid.UUID | str) -> None:
        await self._send("POST", f"{_user(user_id)}/enable")

    @operation("GET", "/api/v1/auth/admin/users/{user_id}/sessions")
    async def auth_admin_sessions_list(self, user_id: uuid.UUID | str) -> list[SessionRead]:
        response = await self._send("GET", f"{_user(user_id)}/sessions")
        return _SESSIONS.validate_json(response.content)

    @operation("DELETE", "/api/v1/auth/admin/users/{user_id}/sessions/{session_id}")
    async def auth_admin_sessions_revoke(
        self, user_id: uuid.UUID | str, session_id: uuid.UUID | str
    ) -> None:
        await self._send("DELETE", f"{_user(user_id)}/sessions/{segment(session_id)}")

    @operation("PUT", "/api/v1/auth/admin/users/{user_id}/roles/admin")
    async def auth_admin_grant_admin(self, user_id: uuid.UUID | str) -> None:
        await self._send("PUT", f"{_user(user_id)}/roles/admin")

    @operation("DELETE", "/api/v1/auth/admin/users/{user_id}/roles/admin")
    async def auth_admin_revoke_admin(self, user_id: uuid.UUID | str) -> None:
        await self._send("DELETE", f"{_user(user_id)}/roles/admin")
