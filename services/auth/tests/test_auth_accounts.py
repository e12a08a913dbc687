"""Registration, login and the account endpoints, through the real app, database and Redis."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from typing import Any

import httpx
import jwt
import pytest

from auth_service.models import EVENT_TABLES
from auth_service.settings import Settings
from shared.testing import SigningKey, assert_problem, database_sessions, read_outbox

PASSWORD = "correct horse battery staple"


def unique(prefix: str = "u") -> str:
    return f"{prefix}{secrets.token_hex(5)}"


async def register(client: httpx.AsyncClient, **fields: Any) -> httpx.Response:
    name = unique()
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD, **fields}
    return await client.post("/api/v1/auth/register", json=body)


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, **kwargs: Any
) -> httpx.Response:
    return await client.post(
        "/api/v1/auth/login", json={"username": username, "password": password}, **kwargs
    )


async def test_register_creates_the_account_and_its_event(
    client: httpx.AsyncClient, auth_database: str
) -> None:
    name = unique()
    response = await client.post(
        "/api/v1/auth/register",
        json={"email": f"{name.upper()}@Example.COM", "username": name, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"id", "email", "username"}
    assert body["email"] == f"{name}@example.com" and body["username"] == name
    async with database_sessions(auth_database) as sessions:
        registered = await read_outbox(sessions, EVENT_TABLES.outbox, "user.registered")
    assert body["id"] in [envelope["data"]["user_id"] for envelope in registered]


async def test_email_and_username_are_unique(client: httpx.AsyncClient) -> None:
    name = unique()
    first = await client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )
    assert first.status_code == 201
    same_email = await register(client, email=f"{name.upper()}@EXAMPLE.com")
    assert_problem(same_email, 409, "email_taken")
    assert_problem(await register(client, username=name.upper()), 409, "username_taken")


async def test_concurrent_registrations_of_one_email_make_one_account(
    client: httpx.AsyncClient,
) -> None:
    email = f"{unique()}@example.com"
    responses = await asyncio.gather(
        *(register(client, email=email) for _ in range(4)),
    )
    codes = sorted(r.status_code for r in responses)
    assert codes == [201, 409, 409, 409], [r.text for r in responses]
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"email_taken"}


@pytest.mark.parametrize(
    "fields,code",
    [
        ({"email": "not-an-email"}, "validation_failed"),
        ({"username": "ab"}, "validation_failed"),
        ({"username": "a" * 33}, "validation_failed"),
        ({"username": "has space"}, "validation_failed"),
        ({"username": "dash-not-allowed"}, "validation_failed"),
        ({"password": "short1!"}, "validation_failed"),
        ({"password": "x" * 129}, "validation_failed"),
        ({"password": "password123"}, "weak_password"),
        ({"password": "qwertyuiop"}, "weak_password"),
        ({"password": 12345678}, "validation_failed"),
        ({"is_admin": True}, "validation_failed"),
    ],
)
async def test_bad_registrations_are_4xx_problems(
    client: httpx.AsyncClient, fields: dict[str, Any], code: str
) -> None:
    response = await register(client, **fields)
    body = assert_problem(response, 422, code)
    # Every 422 says which field is wrong, whichever layer refused it.
    assert body["errors"] and all(error["loc"][0] == "body" for error in body["errors"])
    if code == "weak_password":
        assert [error["loc"] for error in body["errors"]] == [["body", "password"]]
    assert "password123" not in response.text and "qwertyuiop" not in response.text


@pytest.mark.parametrize(
    "content,content_type",
    [(b"{not json", "application/json"), (b"", "application/json"), (b"[]", "application/json")],
)
async def test_malformed_bodies_are_422(
    client: httpx.AsyncClient, content: bytes, content_type: str
) -> None:
    for path in ("/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh"):
        response = await client.post(path, content=content, headers={"content-type": content_type})
        assert_problem(response, 422, "validation_failed")


async def test_login_with_json_or_the_oauth2_form(client: httpx.AsyncClient) -> None:
    account = (await register(client)).json()
    by_json = await login(client, account["username"])
    by_email = await login(client, account["email"].upper())
    by_form = await client.post(
        "/api/v1/auth/login",
        data={"username": account["username"], "password": PASSWORD, "grant_type": "password"},
    )
    for response in (by_json, by_email, by_form):
        assert response.status_code == 200, response.text
        pair = response.json()
        assert pair["token_type"] == "bearer" and pair["expires_in"] == 900
        assert response.headers["cache-control"] == "no-store"
        me = await client.get(
            "/api/v1/auth/me", headers={"Authorization": f"Bearer {pair['access_token']}"}
        )
        assert me.status_code == 200
        assert me.json() == {**account, "roles": [], "email_verified": False}


async def test_access_token_claims(client: httpx.AsyncClient, signing_key: SigningKey) -> None:
    account = (await register(client)).json()
    token = (await login(client, account["username"])).json()["access_token"]
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "RS256" and header["typ"] == "at+jwt" and header["kid"]
    claims = jwt.decode(
        token, signing_key.private_key.public_key(), algorithms=["RS256"], audience="suite-api"
    )
    assert claims["sub"] == account["id"]
    assert {"iss", "aud", "sub", "exp", "iat", "nbf", "jti", "sid", "roles"} <= set(claims)
    assert claims["exp"] - claims["iat"] == 900


async def test_unknown_user_and_wrong_password_look_the_same(client: httpx.AsyncClient) -> None:
    account = (await register(client)).json()
    wrong = await login(client, account["username"], "not the password at all")
    unknown = await login(client, unique("ghost"), "not the password at all")
    assert wrong.status_code == unknown.status_code == 401
    strip = lambda r: {k: v for k, v in r.json().items() if k != "request_id"}  # noqa: E731
    assert strip(wrong) == strip(unknown)
    assert wrong.json()["code"] == "invalid_credentials"


async def test_failures_lock_the_pair_not_the_account(client: httpx.AsyncClient) -> None:
    account = (await register(client)).json()
    attacker = {"X-Forwarded-For": "203.0.113.7"}
    for _ in range(5):
        response = await login(client, account["username"], "wrong-password!", headers=attacker)
        assert response.status_code == 401
    locked = await login(client, account["username"], headers=attacker)
    assert_problem(locked, 429, "too_many_attempts")
    assert 0 < int(locked.headers["retry-after"]) <= 900
    # The real user, from another address, still gets in.
    real_user = await login(
        client, account["username"], headers={"X-Forwarded-For": "198.51.100.2"}
    )
    assert real_user.status_code == 200


async def test_forwarded_for_from_an_untrusted_peer_is_ignored(
    make_settings: Callable[..., Settings], run_app: Callable[..., Any]
) -> None:
    # The peer (127.0.0.1) is not a trusted proxy here: rotating X-Forwarded-For buys nothing.
    async with run_app(make_settings(trusted_proxies="10.9.9.9/32")) as other:
        account = (await register(other)).json()
        for n in range(5):
            spoofed = {"X-Forwarded-For": f"203.0.113.{n}"}
            assert (
                await login(other, account["username"], "wrong!", headers=spoofed)
            ).status_code == 401
        locked = await login(
            other, account["username"], headers={"X-Forwarded-For": "198.51.100.9"}
        )
        assert locked.status_code == 429


async def test_jwks_publishes_the_verifying_key(
    client: httpx.AsyncClient, signing_key: SigningKey
) -> None:
    account = (await register(client)).json()
    token = (await login(client, account["username"])).json()["access_token"]
    jwks = (await client.get("/.well-known/jwks.json")).json()
    (key,) = jwks["keys"]
    assert {key["kty"], key["use"], key["alg"]} == {"RSA", "sig", "RS256"}
    assert key["kid"] == jwt.get_unverified_header(token)["kid"]
    public = jwt.PyJWK(key).key
    assert (
        jwt.decode(token, public, algorithms=["RS256"], audience="suite-api")["sub"]
        == account["id"]
    )


async def test_a_registration_repeated_with_its_idempotency_key_creates_one_account(
    client: httpx.AsyncClient, auth_database: str
) -> None:
    name = unique()
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    headers = {"Idempotency-Key": f"signup-{name}"}
    first = await client.post("/api/v1/auth/register", json=body, headers=headers)
    again = await client.post("/api/v1/auth/register", json=body, headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json() and again.headers["idempotent-replayed"] == "true"
    other = {**body, "username": unique()}
    assert_problem(
        await client.post("/api/v1/auth/register", json=other, headers=headers),
        422,
        "idempotency_key_reused",
    )
    async with database_sessions(auth_database) as sessions:
        registered = await read_outbox(sessions, EVENT_TABLES.outbox, "user.registered")
    assert [e["data"]["username"] for e in registered].count(name) == 1
    # Without the key, a repeat is a second attempt: the account exists.
    assert_problem(await client.post("/api/v1/auth/register", json=body), 409, "email_taken")
