"""Mail through a real SMTP server: email verification, password reset, and no mail lost."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import httpx
import jwt
import pytest

from auth_service.models import EVENT_TABLES
from auth_service.settings import Settings
from shared.testing import (
    SigningKey,
    assert_problem,
    database_sessions,
    eventually,
    never,
    read_outbox,
)

PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase here"


async def sign_up(client: httpx.AsyncClient) -> dict[str, Any]:
    name = f"m{secrets.token_hex(5)}"
    email = f"{name}@example.com"
    response = await client.post(
        "/api/v1/auth/register", json={"email": email, "username": name, "password": PASSWORD}
    )
    assert response.status_code == 201, response.text
    return {**response.json(), "name": name}


async def bearer(client: httpx.AsyncClient, login: str, password: str = PASSWORD) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/login", json={"username": login, "password": password}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def mail_to(mail_server: Any, email: str, count: int = 1) -> list[EmailMessage]:
    await eventually(
        lambda: len(mail_server.messages(email)) >= count,
        within=10,
        message=f"{count} mail(s) to {email}",
    )
    return mail_server.messages(email)


def code_in(message: EmailMessage) -> str:
    """The code of a verification or reset mail, which both parts must carry with the link."""
    text = message.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    code = re.search(r"paste this code: (\S+)", text)
    assert code is not None, text
    link = re.search(r"(http\S+\?token=\S+)", text)
    assert link is not None and link.group(1).endswith(code.group(1))
    assert code.group(1) in html and "?token=" in html
    return code.group(1)


async def test_registration_mails_a_link_that_verifies_the_email_once(
    client: httpx.AsyncClient, mail_server: Any, auth_database: str, signing_key: SigningKey
) -> None:
    account = await sign_up(client)
    [mail] = await mail_to(mail_server, account["email"])
    assert mail["Subject"] == "Confirm your email address"
    headers = await bearer(client, account["name"])
    assert (await client.get("/api/v1/auth/me", headers=headers)).json()["email_verified"] is False
    code = code_in(mail)
    verified = await client.post("/api/v1/auth/verify", json={"token": code})
    assert verified.status_code == 204, verified.text
    assert (await client.get("/api/v1/auth/me", headers=headers)).json()["email_verified"] is True
    again = await client.post("/api/v1/auth/verify", json={"token": code})
    assert_problem(again, 400, "invalid_email_token")
    token = (
        await client.post(
            "/api/v1/auth/login", json={"username": account["name"], "password": PASSWORD}
        )
    ).json()["access_token"]
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["email_verified"] is True
    async with database_sessions(auth_database) as sessions:
        events = await read_outbox(sessions, EVENT_TABLES.outbox, "user.email_verified")
    assert account["id"] in [e["data"]["user_id"] for e in events]
    asked = await client.post("/api/v1/auth/verify/request", headers=headers)
    assert_problem(asked, 409, "email_already_verified")


async def test_asking_for_links_is_within_an_hourly_budget(
    client: httpx.AsyncClient, mail_server: Any
) -> None:
    account = await sign_up(client)
    headers = await bearer(client, account["name"])
    for _ in range(5):
        assert (
            await client.post("/api/v1/auth/verify/request", headers=headers)
        ).status_code == 202
    refused = await client.post("/api/v1/auth/verify/request", headers=headers)
    assert_problem(refused, 429, "too_many_attempts")
    assert int(refused.headers["retry-after"]) > 0
    mails = await mail_to(mail_server, account["email"], count=6)
    # Each link is its own; the newest works (and spends every older one with it).
    codes = [code_in(m) for m in mails]
    assert len(set(codes)) == 6
    assert (await client.post("/api/v1/auth/verify", json={"token": codes[-1]})).status_code == 204
    stale = await client.post("/api/v1/auth/verify", json={"token": codes[0]})
    assert_problem(stale, 400, "invalid_email_token")


async def test_forgot_password_never_says_whether_the_email_has_an_account(
    client: httpx.AsyncClient, mail_server: Any
) -> None:
    nobody = f"nobody{secrets.token_hex(4)}@example.com"
    answer = await client.post("/api/v1/auth/password/forgot", json={"email": nobody})
    assert answer.status_code == 202 and answer.content == b""
    account = await sign_up(client)
    known = await client.post("/api/v1/auth/password/forgot", json={"email": account["email"]})
    assert (known.status_code, known.content) == (answer.status_code, answer.content)
    await mail_to(mail_server, account["email"], count=2)  # verification, then reset
    await never(lambda: mail_server.messages(nobody), within=1.0, message="mail to nobody")


async def test_a_reset_sets_the_password_ends_every_session_and_tells_the_owner(
    client: httpx.AsyncClient, mail_server: Any
) -> None:
    account = await sign_up(client)
    session = await client.post(
        "/api/v1/auth/login", json={"username": account["name"], "password": PASSWORD}
    )
    refresh_token = session.json()["refresh_token"]
    await client.post("/api/v1/auth/password/forgot", json={"email": account["email"].upper()})
    mails = await mail_to(mail_server, account["email"], count=2)
    reset = next(m for m in mails if m["Subject"] == "Reset your password")
    code = code_in(reset)
    weak = await client.post(
        "/api/v1/auth/password/reset", json={"token": code, "new_password": "password"}
    )
    assert weak.status_code == 422
    done = await client.post(
        "/api/v1/auth/password/reset", json={"token": code, "new_password": NEW_PASSWORD}
    )
    assert done.status_code == 204, done.text
    refused = await client.post("/api/v1/auth/refresh", json={"refresh_token": refresh_token})
    assert refused.status_code == 401
    await bearer(client, account["name"], NEW_PASSWORD)
    old = await client.post(
        "/api/v1/auth/login", json={"username": account["name"], "password": PASSWORD}
    )
    assert old.status_code == 401
    reused = await client.post(
        "/api/v1/auth/password/reset", json={"token": code, "new_password": PASSWORD + "!"}
    )
    assert_problem(reused, 400, "invalid_email_token")
    notices = await mail_to(mail_server, account["email"], count=3)
    assert notices[-1]["Subject"] == "Your password was changed"


async def test_a_setting_requires_a_verified_email_to_log_in(
    make_settings: Callable[..., Settings], run_app: Any, mail_server: Any
) -> None:
    async with run_app(make_settings(require_verified_email=True)) as client:
        account = await sign_up(client)
        refused = await client.post(
            "/api/v1/auth/login", json={"username": account["name"], "password": PASSWORD}
        )
        assert_problem(refused, 403, "email_not_verified")
        wrong = await client.post(
            "/api/v1/auth/login", json={"username": account["name"], "password": "not it at all"}
        )
        assert_problem(wrong, 401, "invalid_credentials")
        [mail] = await mail_to(mail_server, account["email"])
        await client.post("/api/v1/auth/verify", json={"token": code_in(mail)})
        await bearer(client, account["name"])


async def test_reset_requests_from_one_address_are_within_its_hourly_budget(
    make_settings: Callable[..., Settings], run_app: Any
) -> None:
    # The gateway's address is trusted: the client address is what X-Forwarded-For says.
    address = {"X-Forwarded-For": f"198.51.100.{secrets.randbelow(250) + 1}"}
    settings = make_settings(mail_requests_per_address_hour=3)
    async with run_app(settings) as client:
        for i in range(3):
            answer = await client.post(
                "/api/v1/auth/password/forgot",
                json={"email": f"someone{i}{secrets.token_hex(3)}@example.com"},
                headers=address,
            )
            assert answer.status_code == 202
        email = {"email": f"x{secrets.token_hex(3)}@example.com"}
        refused = await client.post("/api/v1/auth/password/forgot", json=email, headers=address)
        assert_problem(refused, 429, "too_many_attempts")
        elsewhere = await client.post(
            "/api/v1/auth/password/forgot",
            json=email,
            headers={"X-Forwarded-For": f"192.0.2.{secrets.randbelow(250) + 1}"},
        )
        assert elsewhere.status_code == 202


@pytest.mark.parametrize("token", ["", "x" * 300])
async def test_bad_tokens_are_422(client: httpx.AsyncClient, token: str) -> None:
    response = await client.post("/api/v1/auth/verify", json={"token": token})
    assert_problem(response, 422, "validation_failed")
