"""Two-factor sign-in with TOTP (RFC 6238) and recovery codes, through the real app and Redis."""

from __future__ import annotations

import secrets
import time
from typing import Any

import httpx
import jwt
import pyotp

from shared.testing import assert_problem

PASSWORD = "correct horse battery staple"


async def signed_in(client: httpx.AsyncClient) -> tuple[str, dict[str, str]]:
    name = f"f{secrets.token_hex(5)}"
    await client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )
    login = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    return name, {"Authorization": f"Bearer {login.json()['access_token']}"}


async def with_totp(client: httpx.AsyncClient) -> tuple[str, dict[str, str], pyotp.TOTP, list[str]]:
    name, headers = await signed_in(client)
    setup = await client.post("/api/v1/auth/mfa/totp/setup", headers=headers)
    assert setup.status_code == 200, setup.text
    body = setup.json()
    assert body["otpauth_uri"].startswith("otpauth://totp/suite:")
    totp = pyotp.TOTP(body["secret"])
    wrong = await client.post(
        "/api/v1/auth/mfa/totp/enable", json={"code": "000000"}, headers=headers
    )
    assert_problem(wrong, 400, "invalid_mfa_code")
    enabled = await client.post(
        "/api/v1/auth/mfa/totp/enable", json={"code": totp.now()}, headers=headers
    )
    assert enabled.status_code == 200, enabled.text
    codes = enabled.json()["recovery_codes"]
    assert len(codes) == 10 == len(set(codes))
    return name, headers, totp, codes


async def password_step(client: httpx.AsyncClient, name: str) -> str:
    answer = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert_problem(answer, 401, "mfa_required")
    token = answer.json()["mfa_token"]
    assert isinstance(token, str) and answer.json()["mfa_expires_in"] == 300
    return token


async def second_step(client: httpx.AsyncClient, token: str, code: str) -> httpx.Response:
    return await client.post("/api/v1/auth/login/mfa", json={"mfa_token": token, "code": code})


def claims(answer: httpx.Response) -> dict[str, Any]:
    return dict(jwt.decode(answer.json()["access_token"], options={"verify_signature": False}))


async def test_with_totp_on_a_login_needs_a_code_once(client: httpx.AsyncClient) -> None:
    name, _, totp, _ = await with_totp(client)
    token = await password_step(client, name)
    # enable accepted this step's code: the next step's is the one still unused (drift allows it)
    code = totp.at(time.time() + 30)
    done = await second_step(client, token, code)
    assert done.status_code == 200, done.text
    assert claims(done)["amr"] == ["pwd", "otp"]
    assert done.json()["device_token"]
    # The token is spent, and the code too (even with a new token).
    assert_problem(await second_step(client, token, code), 401, "invalid_mfa_token")
    again = await password_step(client, name)
    assert_problem(await second_step(client, again, code), 400, "invalid_mfa_code")
    refreshed = await client.post(
        "/api/v1/auth/refresh", json={"refresh_token": done.json()["refresh_token"]}
    )
    assert claims(refreshed)["amr"] == ["pwd", "otp"]


async def test_a_recovery_code_works_once(client: httpx.AsyncClient) -> None:
    name, _, _, codes = await with_totp(client)
    done = await second_step(client, await password_step(client, name), codes[0].upper())
    assert done.status_code == 200, done.text
    spent = await second_step(client, await password_step(client, name), codes[0])
    assert_problem(spent, 400, "invalid_mfa_code")


async def test_wrong_codes_end_the_mfa_token(client: httpx.AsyncClient) -> None:
    name, _, totp, _ = await with_totp(client)
    token = await password_step(client, name)
    for _ in range(5):
        assert_problem(await second_step(client, token, "123456"), 400, "invalid_mfa_code")
    assert_problem(
        await second_step(client, token, totp.at(time.time() + 30)), 401, "invalid_mfa_token"
    )


async def test_turning_it_off_needs_the_password_and_a_code(client: httpx.AsyncClient) -> None:
    name, headers, totp, codes = await with_totp(client)
    wrong_password = await client.request(
        "DELETE",
        "/api/v1/auth/mfa/totp",
        json={"password": "not the password", "code": codes[1]},
        headers=headers,
    )
    assert_problem(wrong_password, 401, "invalid_credentials")
    off = await client.request(
        "DELETE",
        "/api/v1/auth/mfa/totp",
        json={"password": PASSWORD, "code": codes[1]},
        headers=headers,
    )
    assert off.status_code == 204, off.text
    plain = await client.post("/api/v1/auth/login", json={"username": name, "password": PASSWORD})
    assert plain.status_code == 200 and claims(plain)["amr"] == ["pwd"]
    kinds = [
        e["type"]
        for e in (await client.get("/api/v1/auth/events", headers=headers)).json()["items"]
    ]
    assert "mfa_disabled" in kinds and "mfa_enabled" in kinds
    assert_problem(
        await client.post(
            "/api/v1/auth/mfa/totp/enable", json={"code": totp.now()}, headers=headers
        ),
        409,
        "mfa_not_set_up",
    )


async def test_guessing_the_password_to_turn_it_off_is_throttled(client: httpx.AsyncClient) -> None:
    _, headers, _, codes = await with_totp(client)
    for guess in range(5):
        wrong = await client.request(
            "DELETE",
            "/api/v1/auth/mfa/totp",
            json={"password": f"guess number {guess}", "code": codes[0]},
            headers=headers,
        )
        assert_problem(wrong, 401, "invalid_credentials")
    locked = await client.request(
        "DELETE",
        "/api/v1/auth/mfa/totp",
        json={"password": PASSWORD, "code": codes[0]},
        headers=headers,
    )
    assert_problem(locked, 429, "too_many_attempts")
