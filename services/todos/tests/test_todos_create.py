"""A todo is created by its owner, validated strictly, and published as `todo.created`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import httpx
import pytest

from shared.contracts import FileDeleted
from shared.events import DomainEvent
from shared.testing import assert_problem, broken_outbox_write
from todos_service.repository import TodoRepository

TODOS = "/api/v1/todos"
FIELDS = {
    "id",
    "title",
    "description",
    "priority",
    "completed",
    "due_at",
    "tags",
    "attachment_ids",
    "created_at",
    "updated_at",
    "version",
}

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Upload = Callable[[uuid.UUID], Awaitable[uuid.UUID]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
Deliver = Callable[[DomainEvent], Awaitable[None]]


async def test_create_answers_201_with_location_etag_and_the_todo(
    client: httpx.AsyncClient, auth: Auth
) -> None:
    owner = uuid.uuid4()
    response = await client.post(TODOS, headers=auth(owner), json={"title": "  Buy milk  "})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == FIELDS
    assert response.headers["location"] == f"{TODOS}/{body['id']}"
    assert response.headers["etag"] == '"1"'
    assert body["title"] == "Buy milk"
    assert (body["description"], body["priority"], body["completed"], body["due_at"]) == (
        None,
        "medium",
        False,
        None,
    )
    assert (body["tags"], body["attachment_ids"], body["version"]) == ([], [], 1)
    assert body["created_at"] == body["updated_at"]
    fetched = await client.get(response.headers["location"], headers=auth(owner))
    assert fetched.status_code == 200
    assert fetched.json() == body
    assert fetched.headers["etag"] == '"1"'


async def test_every_field_is_stored_tags_deduplicated_in_order(
    client: httpx.AsyncClient, auth: Auth, upload: Upload
) -> None:
    owner = uuid.uuid4()
    files = [await upload(owner), await upload(owner)]
    sent: dict[str, Any] = {
        "title": "t" * 200,
        "description": "d" * 10_000,
        "priority": "high",
        "due_at": "2026-12-24T18:00:00+01:00",
        "tags": ["home", " work ", "home", "x" * 32] + [f"t{n}" for n in range(16)],
        "attachment_ids": [str(files[1]), str(files[0]), str(files[1])],
    }
    response = await client.post(TODOS, headers=auth(owner), json=sent)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["title"], body["description"], body["priority"]) == (
        sent["title"],
        sent["description"],
        "high",
    )
    assert datetime.fromisoformat(body["due_at"]) == datetime.fromisoformat(sent["due_at"])
    assert body["tags"] == ["home", "work", "x" * 32] + [f"t{n}" for n in range(16)]
    assert body["attachment_ids"] == [str(files[1]), str(files[0])]


async def test_create_publishes_todo_created_in_the_same_transaction(
    client: httpx.AsyncClient, auth: Auth, upload: Upload, outbox: Outbox
) -> None:
    owner = uuid.uuid4()
    file_id = await upload(owner)
    body = {"title": "Report", "attachment_ids": [str(file_id)]}
    created = (await client.post(TODOS, headers=auth(owner), json=body)).json()
    [envelope] = await outbox("todo.created")
    assert (envelope["type"], envelope["version"], envelope["producer"]) == (
        "todo.created",
        1,
        "todos",
    )
    assert envelope["data"] == {
        "todo_id": created["id"],
        "owner_id": str(owner),
        "title": "Report",
        "attachment_ids": [str(file_id)],
    }


async def test_a_failed_outbox_write_creates_nothing(
    client: httpx.AsyncClient, auth: Auth, outbox: Outbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = uuid.uuid4()
    monkeypatch.setattr(TodoRepository, "record", broken_outbox_write)
    failed = await client.post(TODOS, headers=auth(owner), json={"title": "Lost"})
    assert_problem(failed, 500, "internal_error")
    monkeypatch.undo()
    assert (await client.get(TODOS, headers=auth(owner))).json()["items"] == []
    assert await outbox("todo.created") == []


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"title": ""},
        {"title": "   "},
        {"title": "t" * 201},
        {"title": None},
        {"title": 5},
        {"title": ["Buy"]},
        {"title": "a\u0000b"},
        {"title": "ok", "description": "d" * 10_001},
        {"title": "ok", "description": 7},
        {"title": "ok", "priority": "urgent"},
        {"title": "ok", "priority": "HIGH"},
        {"title": "ok", "priority": None},
        {"title": "ok", "due_at": "2026-12-24T18:00:00"},
        {"title": "ok", "due_at": "2026-12-24"},
        {"title": "ok", "due_at": "tomorrow"},
        {"title": "ok", "due_at": 1767225600},
        {"title": "ok", "tags": [f"t{n}" for n in range(21)]},
        {"title": "ok", "tags": ["x" * 33]},
        {"title": "ok", "tags": [""]},
        {"title": "ok", "tags": "home"},
        {"title": "ok", "tags": [1]},
        {"title": "ok", "tags": None},
        {"title": "ok", "attachment_ids": ["not-a-uuid"]},
        {"title": "ok", "attachment_ids": [str(uuid.uuid4()) for _ in range(21)]},
        {"title": "ok", "completed": True},
        {"title": "ok", "version": 3},
        {"title": "ok", "unknown": 1},
        [],
        "Buy milk",
        None,
    ],
    ids=[
        "missing_title",
        "empty_title",
        "blank_title",
        "title_201",
        "null_title",
        "int_title",
        "list_title",
        "nul_title",
        "description_10001",
        "int_description",
        "unknown_priority",
        "uppercase_priority",
        "null_priority",
        "naive_due_at",
        "date_only_due_at",
        "text_due_at",
        "number_due_at",
        "tags_21",
        "tag_33",
        "empty_tag",
        "tags_not_a_list",
        "int_tag",
        "null_tags",
        "attachment_not_uuid",
        "attachments_21",
        "completed_on_create",
        "version_on_create",
        "unknown_field",
        "array_body",
        "string_body",
        "null_body",
    ],
)
async def test_invalid_todos_are_refused(
    client: httpx.AsyncClient, auth: Auth, outbox: Outbox, body: Any
) -> None:
    owner = uuid.uuid4()
    problem = assert_problem(
        await client.post(TODOS, headers=auth(owner), json=body), 422, "validation_failed"
    )
    assert problem["errors"], problem
    assert (await client.get(TODOS, headers=auth(owner))).json()["items"] == []
    assert await outbox("todo.created") == []


@pytest.mark.parametrize(
    "content", [b'{"title": ', b"not json", b"", b'{"title": "\\ud800"}'], ids=str
)
async def test_malformed_json_is_refused(
    client: httpx.AsyncClient, auth: Auth, content: bytes
) -> None:
    headers = {**auth(uuid.uuid4()), "Content-Type": "application/json"}
    response = await client.post(TODOS, headers=headers, content=content)
    assert_problem(response, 422, "validation_failed")


async def test_only_own_live_files_can_be_attached(
    client: httpx.AsyncClient, auth: Auth, upload: Upload, deliver: Deliver, outbox: Outbox
) -> None:
    owner, other = uuid.uuid4(), uuid.uuid4()
    mine, theirs, unknown = await upload(owner), await upload(other), uuid.uuid4()
    gone = await upload(owner)
    await deliver(FileDeleted(file_id=gone, owner_id=owner))
    body = {"title": "x", "attachment_ids": [str(mine), str(theirs), str(unknown), str(gone)]}

    response = await client.post(TODOS, headers=auth(owner), json=body)

    problem = assert_problem(response, 422, "invalid_attachment")
    for refused in (theirs, unknown, gone):
        assert str(refused) in problem["detail"]
    assert str(mine) not in problem["detail"]
    assert [error["loc"] for error in problem["errors"]] == [
        ["body", "attachment_ids", str(n)] for n in (1, 2, 3)
    ]
    assert (await client.get(TODOS, headers=auth(owner))).json()["items"] == []
    assert await outbox("todo.created") == []


@pytest.mark.parametrize("which", ["other_users", "unknown"])
async def test_a_single_foreign_or_unknown_attachment_is_refused(
    client: httpx.AsyncClient, auth: Auth, upload: Upload, which: str
) -> None:
    owner = uuid.uuid4()
    file_id = await upload(uuid.uuid4()) if which == "other_users" else uuid.uuid4()
    body = {"title": "x", "attachment_ids": [str(file_id)]}
    problem = assert_problem(
        await client.post(TODOS, headers=auth(owner), json=body), 422, "invalid_attachment"
    )
    assert str(file_id) in problem["detail"]
