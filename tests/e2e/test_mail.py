"""Email verification and password reset through the gateway, with the suite's real SMTP sink.

The local suite keeps every message auth sends in .state/<suite>/mail/*.eml (tools/mailsink.py).
"""

from __future__ import annotations

import os
import re
import secrets
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import httpx
import pytest

from suite_client import ProblemError, SuiteClient
from tools import suite

ROOT = Path(__file__).resolve().parents[2]
MAILDIR = suite.E2E.state / "mail"
PASSWORD = "correct horse battery staple"
# The mail sink is the local suite's; a suite elsewhere (compose: E2E_BASE_URL) has none here.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("E2E_BASE_URL")), reason="reads the local suite's mail sink"
)


def mail_to(address: str) -> list[EmailMessage]:
    found = []
    for path in sorted(MAILDIR.glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        if message["To"] == address:
            assert isinstance(message, EmailMessage)
            found.append(message)
    return found


def code_of(message: EmailMessage) -> str:
    text = message.get_body(("plain",))
    assert text is not None
    found = re.search(r"paste this code: (\S+)", text.get_content())
    assert found is not None
    return found.group(1)


@pytest.fixture
def account(base_url: str) -> tuple[str, str]:
    name = f"ml_{secrets.token_hex(4)}"
    with SuiteClient(base_url) as client:
        client.auth_register(email=f"{name}@example.com", username=name, password=PASSWORD)
    return name, f"{name}@example.com"


def test_the_mailed_link_verifies_the_email_everywhere(
    base_url: str, account: tuple[str, str], eventually
) -> None:
    name, email = account
    [mail] = eventually(lambda: mail_to(email), within=5.0, what="the verification mail")
    assert mail["Subject"] == "Confirm your email address"
    with SuiteClient(base_url) as client:
        client.auth_login(username=name, password=PASSWORD)
        assert client.auth_me().email_verified is False
        client.auth_verify(token=code_of(mail))
        assert client.auth_me().email_verified is True
        eventually(lambda: client.users_me().email_verified, within=2.0, what="user.email_verified")
        with pytest.raises(ProblemError) as again:
            client.auth_verify(token=code_of(mail))
        assert (again.value.status, again.value.code) == (400, "invalid_email_token")


def test_a_reset_by_mail_ends_every_session_within_a_second(
    base_url: str, account: tuple[str, str], eventually, client: httpx.Client
) -> None:
    name, email = account
    with SuiteClient(base_url) as old:
        old.auth_login(username=name, password=PASSWORD)
        old_token = old.credentials.access_token
        old.auth_password_forgot(email=email)
    reset = eventually(
        lambda: [m for m in mail_to(email) if m["Subject"] == "Reset your password"],
        within=5.0,
        what="the reset mail",
    )[0]
    new_password = "a wholly new passphrase"
    with SuiteClient(base_url) as fresh:
        fresh.auth_password_reset(token=code_of(reset), new_password=new_password)
        headers = {"Authorization": f"Bearer {old_token}"}
        for service in ("auth", "users", "todos", "files"):
            eventually(
                lambda s=service: (
                    client.get(f"/api/v1/{s}/ping", headers=headers).status_code == 401
                ),
                within=1.0,
                what=f"{service} refusing the reset account's old token",
            )
        fresh.auth_login(username=name, password=new_password)
    eventually(
        lambda: [m for m in mail_to(email) if m["Subject"] == "Your password was changed"],
        within=5.0,
        what="the notice",
    )


def test_forgot_answers_alike_for_unknown_emails_and_mails_nobody(
    client: httpx.Client, never
) -> None:
    nobody = f"nobody_{secrets.token_hex(4)}@example.com"
    answer = client.post("/api/v1/auth/password/forgot", json={"email": nobody})
    assert (answer.status_code, answer.content) == (202, b"")
    never(lambda: mail_to(nobody), within=1.0, what="a mail to an address with no account")
