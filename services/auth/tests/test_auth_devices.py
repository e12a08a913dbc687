"""Device tokens: guessing at an account never locks out a client that logged in to it before."""

from __future__ import annotations

import secrets
from typing import Any

import httpx

from shared.testing import assert_problem

PASSWORD = "correct horse battery staple"
LOGIN = "/api/v1/auth/login"


async def new_account(client: httpx.AsyncClient) -> str:
    name = f"d{secrets.token_hex(5)}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    assert (await client.post("/api/v1/auth/register", json=body)).status_code == 201
    return name


async def login(
    client: httpx.AsyncClient, username: str, password: str = PASSWORD, **kwargs: Any
) -> httpx.Response:
    client.cookies.clear()  # each call is a client of its own unless it sends a token itself
    return await client.post(LOGIN, json={"username": username, "password": password}, **kwargs)


async def device_token_of(client: httpx.AsyncClient, username: str) -> str:
    response = await login(client, username)
    assert response.status_code == 200, response.text
    token: str = response.json()["device_token"]
    return token


async def guess_from_everywhere(client: httpx.AsyncClient, username: str, count: int) -> None:
    """`count` wrong passwords, each from another address (as far as the app can tell)."""
    statuses = set()
    for n in range(count):
        forwarded = {"X-Forwarded-For": f"198.51.100.{n + 1}"}
        statuses.add((await login(client, username, "wrong guess", headers=forwarded)).status_code)
    assert statuses <= {401, 429} and 429 in statuses, statuses


async def test_a_login_makes_the_client_known_by_body_and_cookie(
    client: httpx.AsyncClient,
) -> None:
    username = await new_account(client)
    response = await login(client, username)
    assert response.status_code == 200, response.text
    token = response.json()["device_token"]
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"device_token={token};")
    for attribute in ("HttpOnly", "SameSite=strict", "Path=/api/v1/auth/login"):
        assert attribute.lower() in cookie.lower(), cookie
    assert response.headers["cache-control"] == "no-store"


async def test_the_owner_with_a_device_token_logs_in_at_once_after_50_guesses(
    client: httpx.AsyncClient,
) -> None:
    username = await new_account(client)
    body_token = await device_token_of(client, username)
    header_token = await device_token_of(client, username)
    cookie_token = await device_token_of(client, username)

    await guess_from_everywhere(client, username, 50)

    locked = await login(client, username)
    assert_problem(locked, 429, "too_many_attempts")
    retry = locked.headers["retry-after"]
    assert locked.headers["ratelimit"] == f'"failures";r=0;t={retry}'
    by_body = await client.post(
        LOGIN, json={"username": username, "password": PASSWORD, "device_token": body_token}
    )
    assert by_body.status_code == 200, by_body.text
    by_header = await login(client, username, headers={"X-Device-Token": header_token})
    assert by_header.status_code == 200, by_header.text
    client.cookies.clear()
    client.cookies.set("device_token", cookie_token, path=LOGIN)
    by_cookie = await client.post(LOGIN, json={"username": username, "password": PASSWORD})
    assert by_cookie.status_code == 200, by_cookie.text


async def test_a_device_token_of_another_account_or_a_forged_one_is_no_help(
    client: httpx.AsyncClient,
) -> None:
    victim, other = await new_account(client), await new_account(client)
    others_token = await device_token_of(client, other)
    victims_token = await device_token_of(client, victim)
    await guess_from_everywhere(client, victim, 30)
    forged = victims_token[:-4] + ("AAAA" if not victims_token.endswith("AAAA") else "BBBB")
    for token in (others_token, forged, "garbage", "é" * 40):
        client.cookies.clear()
        body = {"username": victim, "password": PASSWORD, "device_token": token}
        assert_problem(await client.post(LOGIN, json=body), 429, "too_many_attempts")


async def test_wrong_passwords_with_a_device_token_lock_only_that_token(
    client: httpx.AsyncClient,
) -> None:
    username = await new_account(client)
    stolen, owners = (
        await device_token_of(client, username),
        await device_token_of(client, username),
    )
    for _ in range(5):
        wrong = await login(client, username, "wrong guess", headers={"X-Device-Token": stolen})
        assert_problem(wrong, 401, "invalid_credentials")
    # The token's failures did not touch the account: an unknown client still logs in...
    assert (await login(client, username)).status_code == 200
    # ...and the spent token now counts as no token (its sixth guess is throttled like anyone's).
    assert (await login(client, username, headers={"X-Device-Token": owners})).status_code == 200


def budget(response: httpx.Response) -> tuple[str, str]:
    return response.headers["ratelimit-policy"], response.headers["ratelimit"]


async def test_every_login_tells_the_client_its_budget_of_wrong_passwords(
    client: httpx.AsyncClient,
) -> None:
    username = await new_account(client)
    token = await device_token_of(client, username)
    device = {"X-Device-Token": token}
    policy = '"failures";q=5;w=900'
    answers = [await login(client, username, "wrong", headers=device) for _ in range(5)]
    assert all(budget(answer)[0] == policy for answer in answers)
    left = [budget(answer)[1].split(";")[1:] for answer in answers]
    assert [remaining for remaining, _ in left] == ["r=4", "r=3", "r=2", "r=1", "r=0"]
    assert left[0][1] == "t=900"  # the first failure starts the window
    assert all(0 < int(reset.removeprefix("t=")) <= 900 for _, reset in left)
    # The spent token counts as no token; the owner's password still works, and says so.
    ok = await login(client, username)
    assert ok.status_code == 200 and budget(ok) == (policy, '"failures";r=5;t=0')
