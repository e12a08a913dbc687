"""Signing in with an OpenID provider: a real, certified one (oidc-provider under Node)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import jwt
import pyotp
import pytest

from auth_service.models import EVENT_TABLES
from auth_service.settings import Settings
from shared.testing import assert_problem, database_sessions, free_port, read_outbox
from tools import oidc_provider

PUBLIC_URL = "http://suite.test"
CALLBACK = f"{PUBLIC_URL}/api/v1/auth/oidc/test/callback"
PASSWORD = "correct horse battery staple"
ACCOUNTS = {
    "alice": {"email": "alice@example.com", "email_verified": True},
    "bob": {"email": "bob@example.com", "email_verified": True},
    "erin": {"email": "erin@example.com", "email_verified": True},
    "mallory": {"email": "victim@example.com", "email_verified": False},
    "nomail": {},
}


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    secret = secrets.token_urlsafe(24)
    secret_file = tmp_path_factory.mktemp("oidc") / "client-secret"
    secret_file.write_text(secret)
    client = {"client_id": "suite", "client_secret": secret, "redirect_uris": [CALLBACK]}
    with oidc_provider.running(free_port(), client=client, accounts=ACCOUNTS) as issuer:
        yield {"issuer": issuer, "client_id": "suite", "client_secret_file": str(secret_file)}


@pytest.fixture(scope="module")
async def app(
    provider: dict[str, Any], make_settings: Callable[..., Settings], run_app: Any
) -> AsyncIterator[httpx.AsyncClient]:
    settings = make_settings(public_url=PUBLIC_URL, oidc_providers={"test": provider})
    async with run_app(settings) as client:
        yield client


async def sign_in(app: httpx.AsyncClient, login: str) -> httpx.Response:
    start = await app.get("/api/v1/auth/oidc/test/start")
    assert start.status_code == 302, start.text
    location = start.headers["location"]
    query = parse_qs(urlsplit(location).query)
    assert query["code_challenge_method"] == ["S256"] and query["nonce"] and query["state"]
    back = await anyio.to_thread.run_sync(
        lambda: oidc_provider.sign_in(location, login=login, stop_at=CALLBACK)
    )
    parts = urlsplit(back)
    return await app.get(f"{parts.path}?{parts.query}")


async def test_a_new_user_signs_in_and_gets_an_account(
    app: httpx.AsyncClient, auth_database: str
) -> None:
    answer = await sign_in(app, "alice")
    assert answer.status_code == 200, answer.text
    tokens = answer.json()
    claims = jwt.decode(tokens["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["fed"] and claims["email_verified"] is True
    me = await app.get(
        "/api/v1/auth/me", headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert me.json()["email"] == "alice@example.com" and me.json()["email_verified"] is True
    async with database_sessions(auth_database) as sessions:
        registered = await read_outbox(sessions, EVENT_TABLES.outbox, "user.registered")
    assert me.json()["id"] in [e["data"]["user_id"] for e in registered]
    again = await sign_in(app, "alice")  # the identity is linked: the same account
    second = jwt.decode(again.json()["access_token"], options={"verify_signature": False})
    assert second["sub"] == claims["sub"]


async def test_an_unverified_email_never_links_to_an_existing_account(
    app: httpx.AsyncClient,
) -> None:
    registered = await app.post(
        "/api/v1/auth/register",
        json={"email": "victim@example.com", "username": "victim", "password": PASSWORD},
    )
    assert registered.status_code == 201
    assert_problem(await sign_in(app, "mallory"), 409, "oidc_email_unverified")
    assert_problem(await sign_in(app, "nomail"), 400, "oidc_email_missing")


async def test_a_pre_registered_unverified_account_is_never_linked(
    app: httpx.AsyncClient,
) -> None:
    # Someone registered bob's address first, with their own password, and never verified it.
    squatter = await app.post(
        "/api/v1/auth/register",
        json={"email": "bob@example.com", "username": "squatter", "password": PASSWORD},
    )
    assert squatter.status_code == 201
    assert_problem(await sign_in(app, "bob"), 409, "oidc_email_unverified")


async def test_two_factor_sign_in_still_asks_for_the_code(app: httpx.AsyncClient) -> None:
    first = (await sign_in(app, "alice")).json()
    headers = {"Authorization": f"Bearer {first['access_token']}"}
    secret = (await app.post("/api/v1/auth/mfa/totp/setup", headers=headers)).json()["secret"]
    totp = pyotp.TOTP(secret)
    enabled = await app.post(
        "/api/v1/auth/mfa/totp/enable", json={"code": totp.now()}, headers=headers
    )
    assert enabled.status_code == 200
    needed = await sign_in(app, "alice")
    assert_problem(needed, 401, "mfa_required")
    done = await app.post(
        "/api/v1/auth/login/mfa",
        json={"mfa_token": needed.json()["mfa_token"], "code": enabled.json()["recovery_codes"][0]},
    )
    assert done.status_code == 200, done.text
    claims = jwt.decode(done.json()["access_token"], options={"verify_signature": False})
    assert claims["amr"] == ["fed", "otp"]


async def test_a_callback_this_browser_did_not_start_is_refused(app: httpx.AsyncClient) -> None:
    start = await app.get("/api/v1/auth/oidc/test/start")
    location = start.headers["location"]
    back = await anyio.to_thread.run_sync(
        lambda: oidc_provider.sign_in(location, login="alice", stop_at=CALLBACK)
    )
    parts = urlsplit(back)
    app.cookies.clear()  # another browser: the victim of a login CSRF
    stolen = await app.get(f"{parts.path}?{parts.query}")
    assert_problem(stolen, 400, "invalid_oidc_state")


async def test_a_replayed_or_forged_state_is_refused(app: httpx.AsyncClient) -> None:
    start = await app.get("/api/v1/auth/oidc/test/start")
    location = start.headers["location"]
    back = await anyio.to_thread.run_sync(
        lambda: oidc_provider.sign_in(location, login="erin", stop_at=CALLBACK)
    )
    parts = urlsplit(back)
    assert (await app.get(f"{parts.path}?{parts.query}")).status_code == 200
    replay = await app.get(f"{parts.path}?{parts.query}")
    assert_problem(replay, 400, "invalid_oidc_state")
    forged = await app.get("/api/v1/auth/oidc/test/callback?state=made-up&code=whatever")
    assert_problem(forged, 400, "invalid_oidc_state")
    assert_problem(await app.get("/api/v1/auth/oidc/nope/start"), 404, "unknown_provider")


async def test_a_denied_sign_in_is_a_problem(app: httpx.AsyncClient) -> None:
    start = await app.get("/api/v1/auth/oidc/test/start")
    state = parse_qs(urlsplit(start.headers["location"]).query)["state"][0]
    denied = await app.get(f"/api/v1/auth/oidc/test/callback?state={state}&error=access_denied")
    assert_problem(denied, 400, "oidc_failed")
