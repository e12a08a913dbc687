"""Every users endpoint needs a valid access token, and paths are exact."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

SOMEONE = str(uuid.uuid4())
ENDPOINTS = [
    ("GET", "/api/v1/users/me", None),
    ("PATCH", "/api/v1/users/me", {"display_name": "Ann"}),
    ("DELETE", "/api/v1/users/me", None),
    ("GET", "/api/v1/users", None),
    ("GET", f"/api/v1/users/{SOMEONE}", None),
    ("DELETE", f"/api/v1/users/{SOMEONE}", None),
]

Problem = Callable[[httpx.Response, int, str], dict[str, Any]]


def credentials(kind: str, mint: Callable[..., str]) -> dict[str, str]:
    user = uuid.uuid4()
    if kind == "missing":
        return {}
    if kind == "not_bearer":
        return {"Authorization": f"Basic {mint(user, roles=['admin'])}"}
    if kind == "garbage":
        return {"Authorization": "Bearer not.a.token"}
    if kind == "expired":
        return {"Authorization": f"Bearer {mint(user, roles=['admin'], lifetime=-120)}"}
    foreign = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return {"Authorization": f"Bearer {mint(user, roles=['admin'], key=foreign)}"}


@pytest.mark.parametrize("kind", ["missing", "not_bearer", "garbage", "expired", "foreign_key"])
@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
async def test_no_valid_token_is_401(
    client: httpx.AsyncClient,
    mint: Callable[..., str],
    problem: Problem,
    kind: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    response = await client.request(method, path, headers=credentials(kind, mint), json=body)
    code = "missing_token" if kind in {"missing", "not_bearer"} else "invalid_token"
    problem(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "path", ["/api/v1/users/", "/api/v1/users/me/", f"/api/v1/users/{SOMEONE}/"]
)
async def test_trailing_slashes_are_not_redirected(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]], problem: Problem, path: str
) -> None:
    response = await client.get(path, headers=auth(uuid.uuid4(), roles=["admin"]))
    problem(response, 404, "not_found")


async def test_me_is_not_read_as_an_id(
    client: httpx.AsyncClient,
    register: Callable[..., Awaitable[uuid.UUID]],
    auth: Callable[..., dict[str, str]],
) -> None:
    user_id = await register(email="ann@example.com")
    body = (await client.get("/api/v1/users/me", headers=auth(user_id))).json()
    assert body["email"] == "ann@example.com"


async def test_patch_by_id_is_not_a_route(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]], problem: Problem
) -> None:
    headers = auth(uuid.uuid4(), roles=["admin"])
    response = await client.patch(f"/api/v1/users/{SOMEONE}", headers=headers, json={})
    problem(response, 405, "method_not_allowed")


async def test_authentication_comes_before_body_validation(
    client: httpx.AsyncClient, problem: Problem
) -> None:
    response = await client.patch("/api/v1/users/me", json={"display_name": 5, "unknown": 1})
    problem(response, 401, "missing_token")
