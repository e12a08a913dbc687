"""The security log and admins' controls over accounts, through the real app and database."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from auth_service.models import EVENT_TABLES, SecurityEvent
from auth_service.settings import Settings
from shared.testing import assert_problem, database_sessions, eventually, read_outbox

PASSWORD = "correct horse battery staple"
ADMIN = {"admin_email": "root@example.com", "admin_username": "root", "admin_password": PASSWORD}


@pytest.fixture(scope="module")
async def app(
    make_settings: Callable[..., Settings], run_app: Callable[..., Any]
) -> AsyncIterator[httpx.AsyncClient]:
    async with run_app(make_settings(**ADMIN)) as client:
        yield client


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login",
        json={"username": name, "password": password},
        headers={"User-Agent": "pytest-agent"},
    )


async def bearer(client: httpx.AsyncClient, name: str) -> dict[str, str]:
    response = await login(client, name)
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def member(client: httpx.AsyncClient) -> tuple[str, str]:
    name = f"a{secrets.token_hex(5)}"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )
    assert response.status_code == 201
    return name, response.json()["id"]


async def refused(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    """The revocation reaches this replica (through the broker) within a second."""

    async def is_refused() -> bool:
        return (await client.get("/api/v1/auth/me", headers=headers)).status_code == 401

    await eventually(is_refused, within=1.0, message="the ended session still accepted")


async def test_the_owner_sees_their_security_log(app: httpx.AsyncClient) -> None:
    name, _ = await member(app)
    assert (await login(app, name, "not the password")).status_code == 401
    headers = await bearer(app, name)
    page = (await app.get("/api/v1/auth/events", headers=headers)).json()
    kinds = [(e["type"], e["reason"]) for e in page["items"]]
    assert kinds == [("login_succeeded", None), ("login_failed", "invalid_password")]
    assert {e["user_agent"] for e in page["items"]} == {"pytest-agent"}
    assert all(e["ip"] for e in page["items"])
    await app.post("/api/v1/auth/logout", headers=headers)
    headers = await bearer(app, name)
    first = (await app.get("/api/v1/auth/events?limit=2", headers=headers)).json()
    assert [e["type"] for e in first["items"]] == ["login_succeeded", "session_revoked"]
    rest = (
        await app.get(f"/api/v1/auth/events?limit=2&cursor={first['next_cursor']}", headers=headers)
    ).json()
    assert [e["type"] for e in rest["items"]] == ["login_succeeded", "login_failed"]


async def test_a_disabled_account_cannot_log_in_and_its_sessions_end(
    app: httpx.AsyncClient, auth_database: str
) -> None:
    root = await bearer(app, "root")
    name, user_id = await member(app)
    theirs = await bearer(app, name)
    disabled = await app.post(f"/api/v1/auth/admin/users/{user_id}/disable", headers=root)
    assert disabled.status_code == 204, disabled.text
    await refused(app, theirs)
    assert_problem(await login(app, name), 403, "account_disabled")
    assert (await login(app, name, "wrong password here")).status_code == 401
    async with database_sessions(auth_database) as sessions:
        published = await read_outbox(sessions, EVENT_TABLES.outbox, "user.disabled")
    assert user_id in [e["data"]["user_id"] for e in published]
    log = (await app.get(f"/api/v1/auth/admin/events?user_id={user_id}", headers=root)).json()[
        "items"
    ]
    root_id = (await app.get("/api/v1/auth/me", headers=root)).json()["id"]
    assert ("account_disabled", root_id) in [(e["type"], e["actor_id"]) for e in log]
    assert (
        await app.post(f"/api/v1/auth/admin/users/{user_id}/enable", headers=root)
    ).status_code == 204
    await bearer(app, name)


async def test_admins_see_and_end_sessions_and_grant_the_role(app: httpx.AsyncClient) -> None:
    root = await bearer(app, "root")
    name, user_id = await member(app)
    theirs = await bearer(app, name)
    listed = (await app.get(f"/api/v1/auth/admin/users/{user_id}/sessions", headers=root)).json()
    assert len(listed) == 1
    ended = await app.delete(
        f"/api/v1/auth/admin/users/{user_id}/sessions/{listed[0]['id']}", headers=root
    )
    assert ended.status_code == 204
    await refused(app, theirs)
    assert (
        await app.put(f"/api/v1/auth/admin/users/{user_id}/roles/admin", headers=root)
    ).status_code == 204
    promoted = await bearer(app, name)
    assert (await app.get("/api/v1/auth/me", headers=promoted)).json()["roles"] == ["admin"]
    assert (await app.get("/api/v1/auth/admin/events", headers=promoted)).status_code == 200
    assert (
        await app.delete(f"/api/v1/auth/admin/users/{user_id}/roles/admin", headers=root)
    ).status_code == 204
    await refused(app, promoted)  # no token of the demoted account still says admin
    demoted = await bearer(app, name)
    assert_problem(await app.get("/api/v1/auth/admin/events", headers=demoted), 403, "forbidden")


async def test_the_last_admin_stays_and_nobody_disables_themselves(app: httpx.AsyncClient) -> None:
    root = await bearer(app, "root")
    root_id = (await app.get("/api/v1/auth/me", headers=root)).json()["id"]
    assert_problem(
        await app.delete(f"/api/v1/auth/admin/users/{root_id}/roles/admin", headers=root),
        409,
        "last_admin",
    )
    assert_problem(
        await app.post(f"/api/v1/auth/admin/users/{root_id}/disable", headers=root),
        409,
        "own_account",
    )
    name, user_id = await member(app)
    members = await bearer(app, name)
    assert_problem(
        await app.post(f"/api/v1/auth/admin/users/{user_id}/disable", headers=members),
        403,
        "forbidden",
    )
    missing = "00000000-0000-4000-8000-000000000000"
    assert_problem(
        await app.post(f"/api/v1/auth/admin/users/{missing}/disable", headers=root),
        404,
        "not_found",
    )


async def test_entries_older_than_the_retention_are_swept(
    make_settings: Callable[..., Settings], run_app: Callable[..., Any], auth_database: str
) -> None:
    async with database_sessions(auth_database) as sessions, sessions() as session:
        old = SecurityEvent(
            id=uuid.uuid4(),
            account_id=None,
            type="login_failed",
            reason="unknown_account",
            created_at=datetime.now(UTC) - timedelta(days=3),
        )
        recent = SecurityEvent(
            id=uuid.uuid4(),
            account_id=None,
            type="login_failed",
            reason="unknown_account",
            created_at=datetime.now(UTC) - timedelta(hours=12),
        )
        session.add_all([old, recent])
        await session.commit()
    async with run_app(make_settings(security_log_days=1)) as client:
        await login(client, "nobody-at-all")  # a new entry sweeps what is past the retention
    async with database_sessions(auth_database) as sessions, sessions() as session:
        kept = {row.id for row in (await session.scalars(select(SecurityEvent))).all()}
    assert old.id not in kept and recent.id in kept
