"""Accounts end to end through the gateway: register, profile, tokens, revocation, deletion."""

from __future__ import annotations

import concurrent.futures
import os
import secrets
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tools import infra, suite

PASSWORD = "correct horse battery staple"
ROOT = Path(__file__).resolve().parents[2]


def new_user(client: httpx.Client) -> dict[str, Any]:
    name = f"e2e_{secrets.token_hex(5)}"
    response = client.post(
        "/api/v1/auth/register",
        json={"email": f"{name}@example.com", "username": name, "password": PASSWORD},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def login(client: httpx.Client, username: str, password: str = PASSWORD) -> dict[str, Any]:
    response = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return dict(response.json())


def bearer(pair: dict[str, Any]) -> dict[str, str]:
    return {"Authorization": f"Bearer {pair['access_token']}"}


def test_profile_appears_within_a_second_of_registration(
    client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    account = new_user(client)
    pair = login(client, account["username"])
    eventually(
        lambda: client.get("/api/v1/users/me", headers=bearer(pair)).status_code == 200,
        within=1.0,
        what="profile after registration",
    )
    me = client.get("/api/v1/users/me", headers=bearer(pair)).json()
    assert me["id"] == account["id"] and me["email"] == account["email"]
    assert me["username"] == account["username"] and me["display_name"] is None


def test_profile_update_and_public_view(
    client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    account = new_user(client)
    pair = login(client, account["username"])
    eventually(
        lambda: client.get("/api/v1/users/me", headers=bearer(pair)).is_success,
        within=1.0,
        what="profile",
    )
    updated = client.patch(
        "/api/v1/users/me", json={"display_name": "Ann", "bio": "hi"}, headers=bearer(pair)
    )
    assert updated.status_code == 200 and updated.json()["display_name"] == "Ann"
    other = login(client, new_user(client)["username"])
    public = client.get(f"/api/v1/users/{account['id']}", headers=bearer(other)).json()
    assert public["display_name"] == "Ann" and "email" not in public
    too_long = client.patch("/api/v1/users/me", json={"bio": "x" * 1001}, headers=bearer(pair))
    assert too_long.status_code == 422
    assert too_long.headers["content-type"] == "application/problem+json"


def test_refresh_rotation_and_reuse_detection(
    client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    account = new_user(client)
    first = login(client, account["username"])
    rotated = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    pair = rotated.json()
    # Within the reuse grace period (AUTH_REFRESH_REUSE_GRACE_SECONDS, 2 s by default) a replay is
    # taken for the client's own concurrent retry. Only the server's clock ends that window, and
    # the one request that would show it has is the replay under test: wait it out.
    time.sleep(2.2)
    replay = client.post("/api/v1/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert replay.status_code == 401 and replay.json()["code"] == "refresh_token_reused"
    for service in ("auth/me", "users/me"):
        eventually(
            lambda s=service: client.get(f"/api/v1/{s}", headers=bearer(pair)).status_code == 401,
            within=1.0,
            what=f"{service} refusing the revoked session",
        )


def test_logout_is_honoured_by_every_service_within_a_second(
    client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    account = new_user(client)
    pair = login(client, account["username"])
    eventually(
        lambda: client.get("/api/v1/users/me", headers=bearer(pair)).is_success,
        within=1.0,
        what="profile",
    )
    assert client.post("/api/v1/auth/logout", headers=bearer(pair)).status_code == 204
    started = time.monotonic()
    for path in ("/api/v1/auth/me", "/api/v1/users/me", "/api/v1/todos/ping", "/api/v1/files/ping"):
        # Several requests, so both replicas of each service are asked.
        for _ in range(4):
            eventually(
                lambda p=path: client.get(p, headers=bearer(pair)).status_code == 401,
                within=1.0 - (time.monotonic() - started) + 0.5,
                what=f"{path} after logout",
            )
    assert time.monotonic() - started < 1.5


def test_deleting_the_account_ends_tokens_and_logins(
    client: httpx.Client, eventually: Callable[..., Any]
) -> None:
    account = new_user(client)
    pair = login(client, account["username"])
    eventually(
        lambda: client.get("/api/v1/users/me", headers=bearer(pair)).is_success,
        within=1.0,
        what="profile",
    )
    assert client.delete("/api/v1/users/me", headers=bearer(pair)).status_code == 204
    eventually(
        lambda: client.get("/api/v1/auth/me", headers=bearer(pair)).status_code == 401,
        within=3.0,
        what="token after deletion",
    )
    eventually(
        lambda: (
            client.post(
                "/api/v1/auth/login", json={"username": account["username"], "password": PASSWORD}
            ).status_code
            == 401
        ),
        within=3.0,
        what="login after deletion",
    )


def test_same_email_registered_concurrently_makes_one_account(base_url: str) -> None:
    email = f"race_{secrets.token_hex(5)}@example.com"

    def attempt(n: int) -> int:
        with httpx.Client(base_url=base_url, timeout=20) as client:
            return client.post(
                "/api/v1/auth/register",
                json={
                    "email": email,
                    "username": f"race{n}_{secrets.token_hex(3)}",
                    "password": PASSWORD,
                },
            ).status_code

    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        codes = sorted(pool.map(attempt, range(4)))
    assert codes == [201, 409, 409, 409]


def test_admin_lists_users_and_members_cannot(client: httpx.Client) -> None:
    secret = Path(os.environ.get("E2E_ADMIN_PASSWORD_FILE", suite.E2E.state / "admin-password"))
    if not secret.exists():
        pytest.skip("the suite under test is not the local one")
    admin = login(client, "admin", secret.read_text().strip())
    member = login(client, new_user(client)["username"])
    listing = client.get("/api/v1/users", params={"limit": 2}, headers=bearer(admin))
    assert listing.status_code == 200 and len(listing.json()["items"]) <= 2
    forbidden = client.get("/api/v1/users", headers=bearer(member))
    assert forbidden.status_code == 403 and forbidden.json()["code"] == "forbidden"


def test_bad_input_is_a_problem_never_a_500(client: httpx.Client) -> None:
    cases = [
        (
            "POST",
            "/api/v1/auth/register",
            {"content": b"{oops", "headers": {"content-type": "application/json"}},
        ),
        ("POST", "/api/v1/auth/register", {"json": {"email": 5, "username": [], "password": None}}),
        ("POST", "/api/v1/auth/login", {"json": {"username": "x"}}),
        ("POST", "/api/v1/auth/refresh", {"json": {"refresh_token": "garbage"}}),
        ("GET", "/api/v1/auth/me", {"headers": {"Authorization": "Bearer " + "a" * 5000}}),
        ("GET", "/api/v1/users/me", {"headers": {"Authorization": "Basic Zm9vOmJhcg=="}}),
        ("GET", "/api/v1/users/not-a-uuid", {}),
    ]
    for method, path, kwargs in cases:
        response = client.request(method, path, **kwargs)
        assert 400 <= response.status_code < 500, (path, response.status_code, response.text)
        assert response.headers["content-type"] == "application/problem+json"


def test_user_registered_while_the_broker_is_down_gets_a_profile(
    client: httpx.Client, eventually: Callable[..., Any], never: Callable[..., None]
) -> None:

    cfg = suite.E2E.servers
    if os.environ.get("E2E_BASE_URL") or not (cfg.state / "rabbitmq" / "supervisor.pid").exists():
        pytest.skip("stops the local suite's broker: only against the local stack")
    infra.stop_rabbitmq(cfg)
    try:
        account = new_user(client)  # the write and its event are safe in auth's outbox
        pair = login(client, account["username"])
        never(
            lambda: client.get("/api/v1/users/me", headers=bearer(pair)).status_code != 404,
            within=1.0,
            what="a profile (or an error) while the broker is down",
        )
    finally:
        infra.start_rabbitmq(cfg)
    eventually(
        lambda: client.get("/api/v1/users/me", headers=bearer(pair)).status_code == 200,
        within=60.0,
        what="profile after the broker came back",
    )


def test_grant_admin_as_the_readme_shows_it(client: httpx.Client) -> None:
    """`python -m auth_service --env-file .state/local/env/auth.env grant-admin <name>`, run
    against the tests' own suite."""
    env_file = suite.E2E.state / "env" / "auth.env"
    if os.environ.get("E2E_BASE_URL") or not env_file.exists():
        pytest.skip("runs the operator command against the local suite only")
    account = new_user(client)
    command = [sys.executable, "-m", "auth_service", "--env-file", str(env_file)]
    # The command reads its settings from the file alone, as in an operator's fresh shell.
    env = {name: value for name, value in os.environ.items() if not name.startswith("AUTH_")}
    granted = subprocess.run(
        [*command, "grant-admin", account["email"]],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert granted.returncode == 0, granted.stderr
    roles = client.get("/api/v1/auth/me", headers=bearer(login(client, account["username"])))
    assert roles.json()["roles"] == ["admin"]


def test_an_address_a_client_writes_changes_nothing(client: httpx.Client) -> None:
    """Sessions record, and throttling keys on, the address the gateway saw."""
    account = new_user(client)
    forged = {"X-Forwarded-For": "6.6.6.6", "X-Real-IP": "6.6.6.6"}
    response = client.post(
        "/api/v1/auth/login",
        json={"username": account["username"], "password": PASSWORD},
        headers=forged,
    )
    assert response.status_code == 200, response.text
    sessions = client.get("/api/v1/auth/sessions", headers=bearer(response.json()))
    # The gateway's peer: 127.0.0.1 locally; under compose, the published port's proxy.
    seen = os.environ.get("E2E_CLIENT_ADDRESS", "127.0.0.1")
    assert [session["ip"] for session in sessions.json()] == [seen]


def test_the_owner_with_a_device_token_is_not_locked_out_by_guessing(
    base_url: str, client: httpx.Client
) -> None:
    account = new_user(client)
    device_token = login(client, account["username"])["device_token"]
    with httpx.Client(base_url=base_url, timeout=10) as attacker:  # no cookie from the owner
        statuses = {
            attacker.post(
                "/api/v1/auth/login",
                json={"username": account["username"], "password": f"guess {n}"},
                headers={"X-Forwarded-For": f"198.51.100.{n}"},
            ).status_code
            for n in range(50)
        }
        locked_out = attacker.post(
            "/api/v1/auth/login", json={"username": account["username"], "password": PASSWORD}
        )
    assert statuses == {401, 429}
    assert locked_out.status_code == 429  # an unknown client waits, even with the password
    owner = client.post(
        "/api/v1/auth/login",
        json={"username": account["username"], "password": PASSWORD},
        headers={"X-Device-Token": device_token},
    )
    assert owner.status_code == 200, owner.text


@pytest.mark.parametrize(
    "headers",
    [
        [("Authorization", "Bearer " + "a" * 20_000)],  # over 8 KB: still the service's 401
        [("Authorization", "Bearer x"), ("Authorization", "Bearer y")],
    ],
    ids=["large_token", "two_authorizations"],
)
def test_odd_credentials_are_a_problem_never_a_page(
    client: httpx.Client, headers: list[tuple[str, str]]
) -> None:
    response = client.get("/api/v1/todos", headers=headers)
    assert response.status_code in (400, 401), response.text[:200]
    assert response.headers["content-type"] == "application/problem+json"
    if response.status_code == 401:
        assert response.json()["code"] == "invalid_token"
