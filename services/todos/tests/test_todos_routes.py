"""Every todos endpoint needs a valid token, paths are exact, and another user's todo does not exist."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from shared.testing import SigningKey, assert_problem, bad_credentials

TODOS = "/api/v1/todos"
SOMEONE = str(uuid.uuid4())
ENDPOINTS = [
    ("POST", TODOS, {"title": "x"}),
    ("GET", TODOS, None),
    ("GET", f"{TODOS}/{SOMEONE}", None),
    ("PATCH", f"{TODOS}/{SOMEONE}", {"title": "y"}),
    ("DELETE", f"{TODOS}/{SOMEONE}", None),
]

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Create = Callable[..., Awaitable[dict[str, Any]]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]


@pytest.mark.parametrize(
    "kind", ["missing", "not_bearer", "garbage", "expired", "wrong_audience", "foreign_key"]
)
@pytest.mark.parametrize(
    ("method", "path", "body"), ENDPOINTS, ids=[f"{m} {p}" for m, p, _ in ENDPOINTS]
)
async def test_no_valid_token_is_401(
    client: httpx.AsyncClient,
    signing_key: SigningKey,
    tmp_path: Any,
    kind: str,
    method: str,
    path: str,
    body: Any,
) -> None:
    headers = bad_credentials(kind, signing_key, tmp_path / "foreign")
    response = await client.request(method, path, headers=headers, json=body)
    code = "missing_token" if kind in {"missing", "not_bearer"} else "invalid_token"
    assert_problem(response, 401, code)
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_authentication_comes_before_validation(client: httpx.AsyncClient) -> None:
    response = await client.post(TODOS, json={"title": 5, "unknown": 1})
    assert_problem(response, 401, "missing_token")
    assert_problem(await client.get(f"{TODOS}/not-a-uuid"), 401, "missing_token")


async def test_another_users_todo_is_not_found_for_every_method(
    client: httpx.AsyncClient, auth: Auth, create: Create, outbox: Outbox
) -> None:
    owner, stranger = uuid.uuid4(), uuid.uuid4()
    todo = await create(owner)
    path = f"{TODOS}/{todo['id']}"
    headers = {**auth(stranger), "If-Match": "*"}

    assert_problem(await client.get(path, headers=headers), 404, "not_found")
    assert_problem(
        await client.patch(path, headers=headers, json={"title": "Mine"}), 404, "not_found"
    )
    assert_problem(await client.delete(path, headers=headers), 404, "not_found")
    assert (await client.get(TODOS, headers=auth(stranger))).json()["items"] == []

    unchanged = await client.get(path, headers=auth(owner))
    assert unchanged.json() == todo
    assert await outbox("todo.updated") == []
    assert await outbox("todo.deleted") == []


@pytest.mark.parametrize("todo_id", [str(uuid.uuid4()), "not-a-uuid", "123"])
@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_or_malformed_ids_are_not_found(
    client: httpx.AsyncClient, auth: Auth, method: str, todo_id: str
) -> None:
    body = {"title": "x"} if method == "PATCH" else None
    response = await client.request(
        method, f"{TODOS}/{todo_id}", headers=auth(uuid.uuid4()), json=body
    )
    assert_problem(response, 404, "not_found")


@pytest.mark.parametrize("path", [f"{TODOS}/", f"{TODOS}/{SOMEONE}/"])
async def test_trailing_slashes_are_not_redirected(
    client: httpx.AsyncClient, auth: Auth, path: str
) -> None:
    assert_problem(await client.get(path, headers=auth(uuid.uuid4())), 404, "not_found")


async def test_a_subject_that_is_not_a_user_id_owns_nothing(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    headers = auth("service-account")
    assert_problem(await client.get(TODOS, headers=headers), 403, "forbidden")
    assert_problem(await client.post(TODOS, headers=headers, json={"title": "x"}), 403, "forbidden")


@pytest.mark.parametrize(("method", "path"), [("PUT", f"{TODOS}/{SOMEONE}"), ("DELETE", TODOS)])
async def test_other_methods_are_not_allowed(
    client: httpx.AsyncClient, auth: Auth, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=auth(uuid.uuid4()))
    assert_problem(response, 405, "method_not_allowed")
