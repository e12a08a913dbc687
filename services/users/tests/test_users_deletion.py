"""A profile is deleted by its owner or an admin, once, together with its `user.deleted`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from shared.testing import assert_problem, broken_outbox_write
from users_service.repository import ProfileRepository

ME = "/api/v1/users/me"

Register = Callable[..., Awaitable[uuid.UUID]]
Auth = Callable[..., dict[str, str]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]


def user_deleted(user_id: uuid.UUID, envelope: dict[str, Any]) -> bool:
    expected = {"type": "user.deleted", "producer": "users", "data": {"user_id": str(user_id)}}
    return all(envelope[key] == value for key, value in expected.items())


async def test_deleting_my_profile_publishes_user_deleted_once(
    client: httpx.AsyncClient, register: Register, auth: Auth, outbox: Outbox
) -> None:
    user_id = await register()
    response = await client.delete(ME, headers=auth(user_id))
    assert response.status_code == 204, response.text
    assert response.content == b""
    [envelope] = await outbox("user.deleted")
    assert user_deleted(user_id, envelope)
    assert_problem(await client.get(ME, headers=auth(user_id)), 404, "not_found")
    assert_problem(await client.delete(ME, headers=auth(user_id)), 404, "not_found")
    assert len(await outbox("user.deleted")) == 1


async def test_an_admin_deletes_another_users_profile(
    client: httpx.AsyncClient, register: Register, auth: Auth, outbox: Outbox
) -> None:
    user_id = await register()
    admin = auth(uuid.uuid4(), roles=["admin"])
    response = await client.delete(f"/api/v1/users/{user_id}", headers=admin)
    assert response.status_code == 204, response.text
    [envelope] = await outbox("user.deleted")
    assert user_deleted(user_id, envelope)
    assert_problem(await client.get(f"/api/v1/users/{user_id}", headers=admin), 404, "not_found")
    assert_problem(await client.delete(f"/api/v1/users/{user_id}", headers=admin), 404, "not_found")


@pytest.mark.parametrize("target", ["other", "self"])
async def test_a_member_cannot_delete_by_id(
    client: httpx.AsyncClient,
    register: Register,
    auth: Auth,
    outbox: Outbox,
    target: str,
) -> None:
    member = await register()
    victim = await register() if target == "other" else member
    response = await client.delete(f"/api/v1/users/{victim}", headers=auth(member))
    assert_problem(response, 403, "forbidden")
    assert (await client.get(f"/api/v1/users/{victim}", headers=auth(member))).status_code == 200
    assert await outbox("user.deleted") == []


@pytest.mark.parametrize("user_id", [str(uuid.uuid4()), "not-a-uuid"])
async def test_an_admin_deleting_an_unknown_profile_gets_not_found(
    client: httpx.AsyncClient, auth: Auth, outbox: Outbox, user_id: str
) -> None:
    admin = auth(uuid.uuid4(), roles=["admin"])
    assert_problem(await client.delete(f"/api/v1/users/{user_id}", headers=admin), 404, "not_found")
    assert await outbox("user.deleted") == []


async def test_a_failed_outbox_write_keeps_the_profile(
    client: httpx.AsyncClient,
    register: Register,
    auth: Auth,
    outbox: Outbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user_id = await register()
    monkeypatch.setattr(ProfileRepository, "record", broken_outbox_write)
    assert_problem(await client.delete(ME, headers=auth(user_id)), 500, "internal_error")
    monkeypatch.undo()
    assert (await client.get(ME, headers=auth(user_id))).status_code == 200
    assert await outbox("user.deleted") == []
