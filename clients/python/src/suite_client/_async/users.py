"""Profiles: /api/v1/users (made by the users service from auth's events)."""

from __future__ import annotations

import uuid
from typing import Any

from suite_client._async.base import AsyncBase
from suite_client.body import UNSET, Unset, json_body, segment
from suite_client.models import ProfilePage, ProfileRead, PublicProfileRead
from suite_client.operation import operation


class AsyncUsers(AsyncBase):
    @operation("GET", "/api/v1/users/me")
    async def users_me(self) -> ProfileRead:
        response = await self._send("GET", "/api/v1/users/me")
        return ProfileRead.model_validate_json(response.content)

    @operation("PATCH", "/api/v1/users/me")
    async def users_update_me(
        self,
        *,
        display_name: str | Unset | None = UNSET,
        bio: str | Unset | None = UNSET,
        avatar_file_id: uuid.UUID | str | Unset | None = UNSET,
    ) -> ProfileRead:
        """Change the fields passed; None clears one."""
        body = json_body(display_name=display_name, bio=bio, avatar_file_id=avatar_file_id)
        response = await self._send("PATCH", "/api/v1/users/me", json=body)
        return ProfileRead.model_validate_json(response.content)

    @operation("DELETE", "/api/v1/users/me")
    async def users_delete_me(self) -> None:
        """Delete the caller's account and everything it owns, across the suite."""
        await self._send("DELETE", "/api/v1/users/me")

    @operation("GET", "/api/v1/users")
    async def users_list(
        self, *, limit: int | None = None, cursor: str | None = None
    ) -> ProfilePage:
        """Every profile, newest first (admins only)."""
        response = await self._send(
            "GET", "/api/v1/users", params={"limit": limit, "cursor": cursor}
        )
        return ProfilePage.model_validate_json(response.content)

    @operation("GET", "/api/v1/users/{user_id}")
    async def users_get(self, user_id: uuid.UUID | str) -> PublicProfileRead:
        response = await self._send("GET", f"/api/v1/users/{segment(user_id)}")
        return PublicProfileRead.model_validate_json(response.content)

    @operation("DELETE", "/api/v1/users/{user_id}")
    async def users_delete(self, user_id: uuid.UUID | str) -> None:
        """Delete another account (admins only)."""
        await self._send("DELETE", f"/api/v1/users/{segment(user_id)}")

    @operation("GET", "/api/v1/users/ping")
    async def users_ping(self) -> dict[str, Any]:
        response = await self._send("GET", "/api/v1/users/ping")
        return dict(response.json())
