"""Admins list every profile, newest first, in keyset pages that never repeat or skip a row."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import insert

from shared.testing import all_pages, assert_problem
from users_service.models import Profile

USERS = "/api/v1/users"
ADMIN = ["admin"]

Auth = Callable[..., dict[str, str]]
Sessions = Any


async def add_profiles(sessions: Sessions, created_at: list[datetime]) -> list[uuid.UUID]:
    """Profiles with the given creation times; returns their ids, newest first as the API orders them."""
    keys = [(at, uuid.uuid4()) for at in created_at]
    rows = [
        {
            "id": user_id,
            "email": f"{user_id}@example.com",
            "username": str(user_id),
            "created_at": at,
        }
        for at, user_id in keys
    ]
    async with sessions() as session, session.begin():
        await session.execute(insert(Profile).values(rows))
    return [user_id for _, user_id in sorted(keys, reverse=True)]


async def test_pages_cover_every_profile_once_in_a_stable_order(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    # Fifteen distinct times and ten that tie, so the id decides among those.
    times = [base + timedelta(minutes=n) for n in range(15)] + [base + timedelta(hours=1)] * 10
    expected = await add_profiles(sessions, times)
    headers = auth(uuid.uuid4(), roles=ADMIN)

    pages = await all_pages(client, USERS, headers=headers, limit=10)

    assert [len(page) for page in pages] == [10, 10, 5]
    ids = [item["id"] for page in pages for item in page]
    assert ids == [str(user_id) for user_id in expected]
    assert await all_pages(client, USERS, headers=headers, limit=10) == pages
    assert set(pages[0][0]) >= {"id", "email", "username", "created_at", "updated_at"}


async def test_profiles_created_meanwhile_do_not_shift_later_pages(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    expected = await add_profiles(sessions, [base + timedelta(seconds=n) for n in range(6)])
    headers = auth(uuid.uuid4(), roles=ADMIN)
    first = (await client.get(USERS, headers=headers, params={"limit": 3})).json()
    await add_profiles(sessions, [base + timedelta(days=1)])
    params = {"limit": 3, "cursor": first["next_cursor"]}
    second = (await client.get(USERS, headers=headers, params=params)).json()
    assert [item["id"] for item in second["items"]] == [str(i) for i in expected[3:]]
    assert second["next_cursor"] is None


async def test_default_limit_is_twenty_and_a_full_last_page_has_no_cursor(
    client: httpx.AsyncClient, sessions: Sessions, auth: Auth
) -> None:
    base = datetime(2026, 1, 1, tzinfo=UTC)
    await add_profiles(sessions, [base + timedelta(seconds=n) for n in range(25)])
    headers = auth(uuid.uuid4(), roles=ADMIN)
    first = (await client.get(USERS, headers=headers)).json()
    assert len(first["items"]) == 20 and first["next_cursor"] is not None
    exact = (await client.get(USERS, headers=headers, params={"limit": 25})).json()
    assert len(exact["items"]) == 25 and exact["next_cursor"] is None


async def test_an_empty_listing(client: httpx.AsyncClient, auth: Auth) -> None:
    response = await client.get(USERS, headers=auth(uuid.uuid4(), roles=ADMIN))
    assert response.json() == {"items": [], "next_cursor": None}


async def test_the_listing_is_for_admins_only(
    client: httpx.AsyncClient,
    register: Callable[..., Awaitable[uuid.UUID]],
    auth: Auth,
) -> None:
    member = await register()
    assert_problem(await client.get(USERS, headers=auth(member)), 403, "forbidden")
    assert_problem(await client.get(USERS, headers=auth(member, roles=["Admin"])), 403, "forbidden")


@pytest.mark.parametrize("cursor", ["", "garbage", "eyJhIjogMX0", "x" * 600, "x.é"], ids=str)
async def test_a_tampered_cursor_is_refused(
    client: httpx.AsyncClient, auth: Auth, cursor: str
) -> None:
    headers = auth(uuid.uuid4(), roles=ADMIN)
    response = await client.get(USERS, headers=headers, params={"cursor": cursor})
    assert_problem(response, 400, "invalid_cursor")


@pytest.mark.parametrize("limit", ["0", "101", "-1", "ten", ""])
async def test_a_limit_out_of_range_is_refused(
    client: httpx.AsyncClient, auth: Auth, limit: str
) -> None:
    headers = auth(uuid.uuid4(), roles=ADMIN)
    response = await client.get(USERS, headers=headers, params={"limit": limit})
    assert_problem(response, 422, "validation_failed")
