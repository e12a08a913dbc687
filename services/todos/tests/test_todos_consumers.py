"""Files and users deleted elsewhere leave the todos service consistent, whatever the event order."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import FileDeleted, FileUploaded, UserDeleted
from shared.events import DomainEvent
from shared.messaging.consumer import Handler
from shared.testing import assert_problem, count_rows
from todos_service.models import KnownFile, Todo, TodoAttachment
from todos_service.spec import SPEC

TODOS = "/api/v1/todos"

Auth = Callable[[uuid.UUID | str], dict[str, str]]
Create = Callable[..., Awaitable[dict[str, Any]]]
Upload = Callable[[uuid.UUID], Awaitable[uuid.UUID]]
Deliver = Callable[[DomainEvent], Awaitable[None]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]
Sessions = async_sessionmaker[AsyncSession]
Uploaded = Callable[[uuid.UUID, uuid.UUID], FileUploaded]


def test_the_service_consumes_file_and_user_events(
    handlers: dict[type[DomainEvent], Handler],
) -> None:
    assert set(SPEC.consumes) == {FileUploaded, FileDeleted, UserDeleted} == set(handlers)


async def test_an_uploaded_file_can_be_attached_and_a_redelivery_changes_nothing(
    client: httpx.AsyncClient, auth: Auth, deliver: Deliver, sessions: Sessions, uploaded: Uploaded
) -> None:
    owner, file_id = uuid.uuid4(), uuid.uuid4()
    body = {"title": "x", "attachment_ids": [str(file_id)]}
    early = await client.post(TODOS, headers=auth(owner), json=body)
    assert_problem(early, 422, "invalid_attachment")

    await deliver(uploaded(file_id, owner))
    await deliver(uploaded(file_id, owner))

    response = await client.post(TODOS, headers=auth(owner), json=body)
    assert response.status_code == 201, response.text
    assert response.json()["attachment_ids"] == [str(file_id)]
    assert await count_rows(sessions, KnownFile, KnownFile.id == file_id) == 1


async def test_a_deleted_file_leaves_every_todo_with_a_new_version(
    client: httpx.AsyncClient,
    auth: Auth,
    create: Create,
    upload: Upload,
    deliver: Deliver,
    outbox: Outbox,
) -> None:
    owner = uuid.uuid4()
    doomed, kept = await upload(owner), await upload(owner)
    both = await create(owner, attachment_ids=[str(doomed), str(kept)])
    only = await create(owner, attachment_ids=[str(doomed)])
    other = await create(owner, attachment_ids=[str(kept)])

    await deliver(FileDeleted(file_id=doomed, owner_id=owner))

    async def fetch(todo: dict[str, Any]) -> dict[str, Any]:
        response = await client.get(f"{TODOS}/{todo['id']}", headers=auth(owner))
        assert response.headers["etag"] == f'"{response.json()["version"]}"'
        body: dict[str, Any] = response.json()
        return body

    after = [await fetch(todo) for todo in (both, only, other)]
    assert [todo["attachment_ids"] for todo in after] == [[str(kept)], [], [str(kept)]]
    assert [todo["version"] for todo in after] == [2, 2, 1]
    assert after[0]["updated_at"] > both["updated_at"]
    events = [envelope["data"] for envelope in await outbox("todo.updated")]
    expected = [
        {
            "todo_id": todo["id"],
            "owner_id": str(owner),
            "todo_version": 2,
            "changed": ["attachment_ids"],
        }
        for todo in (both, only)
    ]
    assert sorted(events, key=str) == sorted(expected, key=str)
    again = await client.post(
        TODOS, headers=auth(owner), json={"title": "x", "attachment_ids": [str(doomed)]}
    )
    assert_problem(again, 422, "invalid_attachment")


async def test_a_deletion_before_its_upload_leaves_a_tombstone(
    client: httpx.AsyncClient, auth: Auth, deliver: Deliver, outbox: Outbox, uploaded: Uploaded
) -> None:
    owner, file_id = uuid.uuid4(), uuid.uuid4()
    await deliver(FileDeleted(file_id=file_id, owner_id=owner))
    await deliver(uploaded(file_id, owner))
    body = {"title": "x", "attachment_ids": [str(file_id)]}
    assert_problem(
        await client.post(TODOS, headers=auth(owner), json=body), 422, "invalid_attachment"
    )
    await deliver(FileDeleted(file_id=file_id, owner_id=owner))  # a redelivery: still nothing
    assert await outbox("todo.updated") == []


async def test_a_deleted_user_loses_todos_attachments_and_files_and_nobody_else_does(
    client: httpx.AsyncClient,
    auth: Auth,
    create: Create,
    upload: Upload,
    deliver: Deliver,
    sessions: Sessions,
    outbox: Outbox,
) -> None:
    gone, stays = uuid.uuid4(), uuid.uuid4()
    their_file, my_file = await upload(gone), await upload(stays)
    await deliver(FileDeleted(file_id=uuid.uuid4(), owner_id=gone))  # a tombstone of theirs
    for n in range(3):
        await create(gone, title=f"gone {n}", attachment_ids=[str(their_file)])
    mine = await create(stays, attachment_ids=[str(my_file)])

    await deliver(UserDeleted(user_id=gone))

    assert (await client.get(TODOS, headers=auth(gone))).json()["items"] == []
    assert await count_rows(sessions, Todo, Todo.owner_id == gone) == 0
    assert await count_rows(sessions, KnownFile, KnownFile.owner_id == gone) == 0
    assert await count_rows(sessions, TodoAttachment, TodoAttachment.file_id == their_file) == 0
    assert (await client.get(f"{TODOS}/{mine['id']}", headers=auth(stays))).json() == mine
    assert await count_rows(sessions, KnownFile, KnownFile.owner_id == stays) == 1
    assert await outbox("todo.deleted") == []
    await deliver(UserDeleted(user_id=gone))  # nothing left to delete, and no failure
