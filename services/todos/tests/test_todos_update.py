"""PATCH and DELETE change a todo only at the version the client saw, and publish what changed."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from shared.testing import assert_problem, broken_outbox_write
from todos_service.repository import TodoRepository

TODOS = "/api/v1/todos"

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Create = Callable[..., Awaitable[dict[str, Any]]]
Upload = Callable[[uuid.UUID], Awaitable[uuid.UUID]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]


async def test_patch_changes_only_the_fields_sent_and_bumps_the_version(
    client: httpx.AsyncClient, auth: Auth, create: Create, upload: Upload, outbox: Outbox
) -> None:
    owner = uuid.uuid4()
    file_id = await upload(owner)
    todo = await create(owner, description="Two litres", due_at="2026-06-01T12:00:00Z")
    path, headers = f"{TODOS}/{todo['id']}", {**auth(owner), "If-Match": '"1"'}
    patch = {
        "title": " Buy oat milk ",
        "completed": True,
        "tags": ["shop", "shop", "food"],
        "attachment_ids": [str(file_id)],
        "due_at": None,
    }

    response = await client.patch(path, headers=headers, json=patch)

    assert response.status_code == 200, response.text
    assert response.headers["etag"] == '"2"'
    body = response.json()
    assert (body["title"], body["completed"], body["tags"], body["attachment_ids"]) == (
        "Buy oat milk",
        True,
        ["shop", "food"],
        [str(file_id)],
    )
    assert (body["description"], body["priority"], body["due_at"]) == ("Two litres", "medium", None)
    assert (body["version"], body["created_at"], body["id"]) == (2, todo["created_at"], todo["id"])
    assert body["updated_at"] > todo["updated_at"]
    fetched = await client.get(path, headers=auth(owner))
    assert (fetched.json(), fetched.headers["etag"]) == (body, '"2"')
    [envelope] = await outbox("todo.updated")
    assert envelope["producer"] == "todos"
    assert envelope["data"] == {
        "todo_id": todo["id"],
        "owner_id": str(owner),
        "todo_version": 2,
        "changed": ["title", "completed", "due_at", "tags", "attachment_ids"],
    }


async def test_null_clears_description_and_due_at_and_attachments_can_be_emptied(
    client: httpx.AsyncClient, auth: Auth, create: Create, upload: Upload
) -> None:
    owner = uuid.uuid4()
    files = [str(await upload(owner)), str(await upload(owner))]
    todo = await create(
        owner, description="d", due_at="2026-06-01T12:00:00Z", attachment_ids=files, tags=["a"]
    )
    path = f"{TODOS}/{todo['id']}"
    reordered = await client.patch(path, headers=auth(owner), json={"attachment_ids": files[::-1]})
    assert reordered.json()["attachment_ids"] == files[::-1]
    patch: dict[str, Any] = {"description": None, "due_at": None, "attachment_ids": [], "tags": []}
    body = (await client.patch(path, headers=auth(owner), json=patch)).json()
    assert (body["description"], body["due_at"], body["attachment_ids"], body["tags"]) == (
        None,
        None,
        [],
        [],
    )
    assert body["version"] == 3


@pytest.mark.parametrize(
    "patch",
    [{}, {"title": "Buy milk"}, {"priority": "medium", "completed": False, "tags": []}],
    ids=["empty", "same_title", "same_values"],
)
async def test_a_patch_that_changes_nothing_keeps_the_version_and_publishes_nothing(
    client: httpx.AsyncClient, auth: Auth, create: Create, outbox: Outbox, patch: dict[str, Any]
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner)
    response = await client.patch(f"{TODOS}/{todo['id']}", headers=auth(owner), json=patch)
    assert response.status_code == 200, response.text
    assert response.json() == todo
    assert response.headers["etag"] == '"1"'
    assert await outbox("todo.updated") == []


@pytest.mark.parametrize(
    "patch",
    [
        {"title": None},
        {"title": ""},
        {"title": "t" * 201},
        {"priority": None},
        {"priority": "urgent"},
        {"completed": None},
        {"completed": "yes"},
        {"completed": 1},
        {"tags": None},
        {"tags": ["x" * 33]},
        {"tags": [f"t{n}" for n in range(21)]},
        {"attachment_ids": None},
        {"due_at": "2026-06-01T12:00:00"},
        {"due_at": "2687851"},
        {"description": "d" * 10_001},
        {"version": 5},
        {"id": str(uuid.uuid4())},
        {"title": "ok", "unknown": 1},
        [],
        None,
    ],
    ids=str,
)
async def test_invalid_patches_are_refused_and_change_nothing(
    client: httpx.AsyncClient, auth: Auth, create: Create, outbox: Outbox, patch: Any
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner)
    path = f"{TODOS}/{todo['id']}"
    response = await client.patch(path, headers=auth(owner), json=patch)
    assert_problem(response, 422, "validation_failed")
    assert (await client.get(path, headers=auth(owner))).json() == todo
    assert await outbox("todo.updated") == []


async def test_patch_refuses_attachments_that_are_not_own_files(
    client: httpx.AsyncClient, auth: Auth, create: Create, upload: Upload, outbox: Outbox
) -> None:
    owner = uuid.uuid4()
    mine, theirs = await upload(owner), await upload(uuid.uuid4())
    todo = await create(owner, attachment_ids=[str(mine)])
    path = f"{TODOS}/{todo['id']}"
    body = {"attachment_ids": [str(mine), str(theirs)]}
    problem = assert_problem(
        await client.patch(path, headers=auth(owner), json=body), 422, "invalid_attachment"
    )
    assert str(theirs) in problem["detail"]
    assert (await client.get(path, headers=auth(owner))).json() == todo
    assert await outbox("todo.updated") == []


@pytest.mark.parametrize("if_match", ['"1"', "*", '"7", "1"', ' "1" '])
async def test_a_matching_if_match_lets_the_patch_through(
    client: httpx.AsyncClient, auth: Auth, create: Create, if_match: str
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner)
    headers = {**auth(owner), "If-Match": if_match}
    response = await client.patch(f"{TODOS}/{todo['id']}", headers=headers, json={"title": "New"})
    assert response.status_code == 200, response.text
    assert (response.headers["etag"], response.json()["version"]) == ('"2"', 2)


@pytest.mark.parametrize("if_match", ['"2"', 'W/"1"', "1", '"01"', '"abc"', '""', "", "garbage"])
async def test_a_stale_or_foreign_if_match_is_412_and_changes_nothing(
    client: httpx.AsyncClient, auth: Auth, create: Create, outbox: Outbox, if_match: str
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner)
    path = f"{TODOS}/{todo['id']}"
    headers = {**auth(owner), "If-Match": if_match}
    response = await client.patch(path, headers=headers, json={"title": "New"})
    assert_problem(response, 412, "precondition_failed")
    assert_problem(await client.delete(path, headers=headers), 412, "precondition_failed")
    assert (await client.get(path, headers=auth(owner))).json() == todo
    assert await outbox("todo.updated") == []
    assert await outbox("todo.deleted") == []


async def test_the_second_writer_with_the_same_etag_gets_412(
    client: httpx.AsyncClient, auth: Auth, create: Create
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner)
    path, headers = f"{TODOS}/{todo['id']}", {**auth(owner), "If-Match": '"1"'}
    assert (await client.patch(path, headers=headers, json={"title": "A"})).status_code == 200
    assert_problem(
        await client.patch(path, headers=headers, json={"title": "B"}), 412, "precondition_failed"
    )
    assert (await client.get(path, headers=auth(owner))).json()["title"] == "A"


async def test_concurrent_patches_with_the_same_etag_let_exactly_one_through(
    committed_client: httpx.AsyncClient, auth: Auth
) -> None:
    owner = uuid.uuid4()
    created = await committed_client.post(TODOS, headers=auth(owner), json={"title": "Race"})
    path = created.headers["location"]
    headers = {**auth(owner), "If-Match": created.headers["etag"]}

    responses = await asyncio.gather(
        *(committed_client.patch(path, headers=headers, json={"title": f"W{n}"}) for n in range(8))
    )

    statuses = sorted(response.status_code for response in responses)
    assert statuses == [200] + [412] * 7, [r.text for r in responses]
    for response in responses:
        if response.status_code == 412:
            assert_problem(response, 412, "precondition_failed")
    [winner] = [response.json() for response in responses if response.status_code == 200]
    final = (await committed_client.get(path, headers=auth(owner))).json()
    assert (final["version"], final["title"]) == (2, winner["title"])


async def test_concurrent_patches_without_if_match_all_apply_in_turn(
    committed_client: httpx.AsyncClient, auth: Auth
) -> None:
    owner = uuid.uuid4()
    created = await committed_client.post(TODOS, headers=auth(owner), json={"title": "Race"})
    path = created.headers["location"]
    responses = await asyncio.gather(
        *(
            committed_client.patch(path, headers=auth(owner), json={"tags": [f"t{n}"]})
            for n in range(6)
        )
    )
    assert sorted(response.json()["version"] for response in responses) == [2, 3, 4, 5, 6, 7]


async def test_delete_answers_204_once_and_publishes_todo_deleted(
    client: httpx.AsyncClient, auth: Auth, create: Create, upload: Upload, outbox: Outbox
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner, attachment_ids=[str(await upload(owner))])
    path = f"{TODOS}/{todo['id']}"
    response = await client.delete(path, headers={**auth(owner), "If-Match": '"1"'})
    assert response.status_code == 204, response.text
    assert response.content == b""
    [envelope] = await outbox("todo.deleted")
    assert envelope["data"] == {"todo_id": todo["id"], "owner_id": str(owner)}
    assert_problem(await client.get(path, headers=auth(owner)), 404, "not_found")
    assert_problem(await client.delete(path, headers=auth(owner)), 404, "not_found")
    assert len(await outbox("todo.deleted")) == 1


async def test_delete_without_if_match_or_with_star(
    client: httpx.AsyncClient, auth: Auth, create: Create
) -> None:
    owner = uuid.uuid4()
    first, second = await create(owner), await create(owner)
    plain = await client.delete(f"{TODOS}/{first['id']}", headers=auth(owner))
    star = await client.delete(f"{TODOS}/{second['id']}", headers={**auth(owner), "If-Match": "*"})
    assert (plain.status_code, star.status_code) == (204, 204)


async def test_a_failed_outbox_write_leaves_the_todo_unchanged(
    client: httpx.AsyncClient,
    auth: Auth,
    create: Create,
    outbox: Outbox,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    owner = uuid.uuid4()
    todo = await create(owner)
    path = f"{TODOS}/{todo['id']}"
    monkeypatch.setattr(TodoRepository, "record", broken_outbox_write)
    failed_patch = await client.patch(path, headers=auth(owner), json={"title": "New"})
    failed_delete = await client.delete(path, headers=auth(owner))
    assert_problem(failed_patch, 500, "internal_error")
    assert_problem(failed_delete, 500, "internal_error")
    monkeypatch.undo()
    assert (await client.get(path, headers=auth(owner))).json() == todo
    assert await outbox("todo.updated") == []


def test_the_documented_patch_body_matches_what_is_refused(todos_app: FastAPI) -> None:
    """Fields that refuse null are documented as not nullable; the two that clear take null."""
    schema = todos_app.openapi()["components"]["schemas"]["TodoUpdate"]["properties"]
    nullable = {
        name for name, field in schema.items() if {"type": "null"} in field.get("anyOf", [])
    }
    assert nullable == {"description", "due_at"}
    assert all("default" not in schema[name] for name in schema.keys() - nullable)
