"""Refresh rotation and reuse detection, sessions and revocation reaching every replica."""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx
from fastapi import FastAPI

from auth_service.components import Components
from auth_service.consumers import build_handlers
from auth_service.settings import Settings
from shared.contracts import UserDeleted
from shared.testing import apply_event, assert_problem, components_of, database_sessions

PASSWORD = "correct horse battery staple"


async def new_account(client: httpx.AsyncClient) -> dict[str, Any]:
    name = f"s{secrets.token_hex(5)}"
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


async def tokens(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD
) -> dict[str, Any]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}
    )
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


async def refused_within(client: httpx.AsyncClient, pair: dict[str, Any], seconds: float) -> float:
    """How long until the access token is refused (fails if longer than `seconds`)."""
    started = time.monotonic()
    while (await client.get("/api/v1/auth/me", headers=bearer(pair))).status_code != 401:
        elapsed = time.monotonic() - started
        assert elapsed < seconds, f"token still accepted after {elapsed:.2f}s"
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/v1/auth/refresh", json={"refresh_token": token})


async def test_refresh_rotates_and_the_old_token_dies(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    first = await tokens(client, account["username"])
    second = await refresh(client, first["refresh_token"])
    assert second.status_code == 200
    pair = second.json()
    assert pair["refresh_token"] != first["refresh_token"]
    assert (await client.get("/api/v1/auth/me", headers=bearer(pair))).status_code == 200
    third = await refresh(client, pair["refresh_token"])
    assert third.status_code == 200


async def test_reusing_a_rotated_refresh_token_revokes_the_session(
    client: httpx.AsyncClient,
) -> None:
    account = await new_account(client)
    stolen = await tokens(client, account["username"])
    rotated = (await refresh(client, stolen["refresh_token"])).json()
    replay = await refresh(client, stolen["refresh_token"])
    assert_problem(replay, 401, "refresh_token_reused")
    # The whole session is dead: the legitimate newer tokens too (RFC 9700 §4.14.2).
    assert (await refresh(client, rotated["refresh_token"])).status_code == 401
    await refused_within(client, rotated, 1.0)


async def test_concurrent_refreshes_yield_exactly_one_pair(
    make_settings: Callable[..., Settings], run_app: Callable[..., Any]
) -> None:
    async with run_app(make_settings(refresh_reuse_grace_seconds=5)) as client:
        account = await new_account(client)
        pair = await tokens(client, account["username"])
        responses = await asyncio.gather(
            *(refresh(client, pair["refresh_token"]) for _ in range(5))
        )
        winners = [r for r in responses if r.status_code == 200]
        assert len(winners) == 1, [r.status_code for r in responses]
        assert {r.json()["code"] for r in responses if r.status_code != 200} == {
            "invalid_refresh_token"
        }
        # Within the grace period a retry is not theft: the winner's session lives on.
        assert (await refresh(client, winners[0].json()["refresh_token"])).status_code == 200


async def test_tokens_are_not_interchangeable(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    pair = await tokens(client, account["username"])
    as_refresh = await refresh(client, pair["access_token"])
    assert_problem(as_refresh, 401, "invalid_refresh_token")
    as_bearer = await client.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['refresh_token']}"}
    )
    assert_problem(as_bearer, 401, "invalid_token")


async def test_logout_refuses_the_access_token_within_a_second(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    pair = await tokens(client, account["username"])
    other = await tokens(client, account["username"])
    assert (await client.post("/api/v1/auth/logout", headers=bearer(pair))).status_code == 204
    await refused_within(client, pair, 1.0)
    assert (await refresh(client, pair["refresh_token"])).status_code == 401
    assert (await client.get("/api/v1/auth/me", headers=bearer(other))).status_code == 200


async def test_logout_all_ends_every_session(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    pairs = [await tokens(client, account["username"]) for _ in range(3)]
    assert (
        await client.post("/api/v1/auth/logout-all", headers=bearer(pairs[0]))
    ).status_code == 204
    for pair in pairs:
        await refused_within(client, pair, 1.0)


async def test_password_change_keeps_this_session_and_ends_the_others(
    client: httpx.AsyncClient,
) -> None:
    account = await new_account(client)
    here = await tokens(client, account["username"])
    elsewhere = await tokens(client, account["username"])
    wrong = await client.post(
        "/api/v1/auth/password",
        json={"current_password": "not it at all", "new_password": "another fine passphrase"},
        headers=bearer(here),
    )
    assert_problem(wrong, 401, "invalid_credentials")
    weak = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "password1"},
        headers=bearer(here),
    )
    errors = assert_problem(weak, 422, "weak_password")["errors"]
    assert [error["loc"] for error in errors] == [["body", "new_password"]]
    changed = await client.post(
        "/api/v1/auth/password",
        json={"current_password": PASSWORD, "new_password": "another fine passphrase"},
        headers=bearer(here),
    )
    assert changed.status_code == 204
    await refused_within(client, elsewhere, 1.0)
    assert (await client.get("/api/v1/auth/me", headers=bearer(here))).status_code == 200
    await tokens(client, account["username"], "another fine passphrase")


async def test_sessions_can_be_listed_and_ended_one_by_one(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    here = await tokens(client, account["username"])
    there = await tokens(client, account["username"])
    listed = (await client.get("/api/v1/auth/sessions", headers=bearer(here))).json()
    assert len(listed) == 2 and sum(s["current"] for s in listed) == 1
    other_id = next(s["id"] for s in listed if not s["current"])
    stranger = await tokens(client, (await new_account(client))["username"])
    not_yours = await client.delete(f"/api/v1/auth/sessions/{other_id}", headers=bearer(stranger))
    assert not_yours.status_code == 404
    assert (
        await client.delete(f"/api/v1/auth/sessions/{other_id}", headers=bearer(here))
    ).status_code == 204
    await refused_within(client, there, 1.0)
    unknown = await client.delete(f"/api/v1/auth/sessions/{uuid.uuid4()}", headers=bearer(here))
    assert unknown.status_code == 404
    garbage = await client.delete("/api/v1/auth/sessions/not-a-uuid", headers=bearer(here))
    assert garbage.status_code == 422


async def test_a_replica_started_after_a_revocation_refuses_the_token(
    client: httpx.AsyncClient, make_settings: Callable[..., Settings], run_app: Callable[..., Any]
) -> None:
    account = await new_account(client)
    pair = await tokens(client, account["username"])
    assert (await client.post("/api/v1/auth/logout", headers=bearer(pair))).status_code == 204
    # A new replica that missed the broadcast (it did not exist) loads the snapshot first.
    async with run_app(make_settings(run_workers=False)) as fresh:
        assert (await fresh.get("/api/v1/auth/me", headers=bearer(pair))).status_code == 401
    internal = (await client.get("/internal/v1/revocations")).json()["revoked"]
    session_ids = {entry["session_id"] for entry in internal}
    listed_before = await client.get("/api/v1/auth/sessions", headers=bearer(pair))
    assert listed_before.status_code == 401
    assert session_ids  # the logout above is in the snapshot


async def test_user_deleted_removes_credentials_and_revokes_sessions(
    client: httpx.AsyncClient, auth_database: str, auth_app: FastAPI
) -> None:
    account = await new_account(client)
    pair = await tokens(client, account["username"])
    handler = build_handlers(components_of(auth_app, Components))[UserDeleted]
    event = UserDeleted(user_id=uuid.UUID(account["id"]))
    async with database_sessions(auth_database) as sessions:
        await apply_event(sessions, handler, event, producer="users")
    await refused_within(client, pair, 1.0)
    failed = await client.post(
        "/api/v1/auth/login", json={"username": account["username"], "password": PASSWORD}
    )
    assert failed.status_code == 401


async def test_first_admin_is_created_once_from_settings(
    make_settings: Callable[..., Settings], run_app: Callable[..., Any]
) -> None:
    admin = {
        "admin_email": "root@example.com",
        "admin_username": "root",
        "admin_password": PASSWORD,
    }
    for _ in range(2):  # a restart finds the admin and creates nothing
        async with run_app(make_settings(**admin)) as client:
            pair = await tokens(client, "root")
            me = (await client.get("/api/v1/auth/me", headers=bearer(pair))).json()
            assert me["roles"] == ["admin"] and me["email"] == "root@example.com"


async def test_personal_answers_and_tokens_are_never_stored(client: httpx.AsyncClient) -> None:
    account = await new_account(client)
    pair = await tokens(client, account["username"])
    answers = [
        await client.get("/api/v1/auth/me", headers=bearer(pair)),
        await client.get("/api/v1/auth/sessions", headers=bearer(pair)),
        await refresh(client, pair["refresh_token"]),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert answer.headers["cache-control"] == "no-store", answer.request.url
