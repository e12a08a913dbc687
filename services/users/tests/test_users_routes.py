"""Every users endpoint needs a valid access token, and paths are exact."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from shared.testing import SigningKey, assert_problem, bad_credentials

SOMEONE = str(uuid.uuid4())
ENDPOINTS = [
    ("GET", "/api/v1/users/me", None),
    ("PATCH", "/api/v1/users/me", {"display_name": "Ann"}),
    ("DELETE", "/api/v1/users/me", None),
    ("GET", "/api/v1/users", None),
    ("GET", f"/api/v1/users/{SOMEONE}", None),
    ("DELETE", f"/api/v1/users/{SOMEONE}", None),
]


@pytest.mark.parametrize("kind", ["missing", "not_bearer", "garbage", "expired", "foreign_key"])
@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
async def test_no_valid_token_is_401(
    client: httpx.AsyncClient,
    signing_key: SigningKey,
    tmp_path: Path,
    kind: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    headers = bad_credentials(kind, signing_key, tmp_path, roles=["admin"])
    response = await client.request(method, path, headers=headers, json=body)
    code = "missing_token" if kind in {"missing", "not_bearer"} else "invalid_token"
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "path", ["/api/v1/users/", "/api/v1/users/me/", f"/api/v1/users/{SOMEONE}/"]
)
async def test_trailing_slashes_are_not_redirected(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]], path: str
) -> None:
    response = await client.get(path, headers=auth(uuid.uuid4(), roles=["admin"]))
    assert_problem(response, 404, "not_found")


async def test_me_is_not_read_as_an_id(
    client: httpx.AsyncClient,
    register: Callable[..., Awaitable[uuid.UUID]],
    auth: Callable[..., dict[str, str]],
) -> None:
    user_id = await register(email="ann@example.com")
    body = (await client.get("/api/v1/users/me", headers=auth(user_id))).json()
    assert body["email"] == "ann@example.com"


async def test_patch_by_id_is_not_a_route(
    client: httpx.AsyncClient, auth: Callable[..., dict[str, str]]
) -> None:
    headers = auth(uuid.uuid4(), roles=["admin"])
    response = await client.patch(f"/api/v1/users/{SOMEONE}", headers=headers, json={})
    assert_problem(response, 405, "method_not_allowed")


async def test_authentication_comes_before_body_validation(client: httpx.AsyncClient) -> None:
    response = await client.patch("/api/v1/users/me", json={"display_name": 5, "unknown": 1})
    assert_problem(response, 401, "missing_token")
