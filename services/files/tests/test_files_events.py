"""Events: `file.deleted` leaves with the deletion; `user.deleted` purges all of that user's files."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from files_service.components import Components
from files_service.consumers import build_handlers
from files_service.models import File, StorageUsage
from files_service.repository import FileRepository
from files_service.spec import SPEC
from files_service.storage import Storage
from shared.contracts import UserDeleted
from shared.events import Envelope
from shared.testing import assert_problem, broken_outbox_write, components_of

FILES = "/api/v1/files"

Sessions = async_sessionmaker[AsyncSession]
Upload = Callable[..., Awaitable[httpx.Response]]
Auth = Callable[[uuid.UUID | str], dict[str, str]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]


def test_the_service_consumes_user_deleted(files_app: FastAPI) -> None:
    handlers = build_handlers(components_of(files_app, Components))
    assert list(SPEC.consumes) == [UserDeleted] == list(handlers)


async def test_deleting_a_file_publishes_file_deleted_once(
    client: httpx.AsyncClient, upload: Upload, auth: Auth, owner: uuid.UUID, outbox: Outbox
) -> None:
    file_id = (await upload(b"short-lived")).json()["id"]
    assert (await client.delete(f"{FILES}/{file_id}", headers=auth(owner))).status_code == 204
    assert (await client.delete(f"{FILES}/{file_id}", headers=auth(owner))).status_code == 404
    [envelope] = await outbox("file.deleted")
    assert (envelope["type"], envelope["producer"]) == ("file.deleted", "files")
    assert envelope["data"] == {"file_id": file_id, "owner_id": str(owner)}


async def test_a_failed_deletion_keeps_the_file_and_publishes_nothing(
    client: httpx.AsyncClient,
    upload: Upload,
    auth: Auth,
    owner: uuid.UUID,
    outbox: Outbox,
    storage: Storage,
    monkeypatch: Any,
) -> None:
    file_id = (await upload(b"stays")).json()["id"]
    monkeypatch.setattr(FileRepository, "record", broken_outbox_write)
    deleted = await client.delete(f"{FILES}/{file_id}", headers=auth(owner))
    assert_problem(deleted, 500, "internal_error")
    monkeypatch.undo()
    assert (await client.get(f"{FILES}/{file_id}/content", headers=auth(owner))).content == b"stays"
    assert await storage.keys() == [file_id]
    assert await outbox("file.deleted") == []


async def test_a_failed_outbox_write_on_upload_leaves_nothing(
    client: httpx.AsyncClient,
    upload: Upload,
    outbox: Outbox,
    nothing_left: Callable[[], Awaitable[None]],
    monkeypatch: Any,
) -> None:
    monkeypatch.setattr(FileRepository, "record", broken_outbox_write)
    assert_problem(await upload(b"doomed"), 500, "internal_error")
    monkeypatch.undo()
    await nothing_left()
    assert await outbox("file.uploaded") == []


async def test_user_deleted_purges_that_users_files_and_blobs_once(
    files_app: FastAPI,
    client: httpx.AsyncClient,
    sessions: Sessions,
    upload: Upload,
    auth: Auth,
    owner: uuid.UUID,
    storage: Storage,
    outbox: Outbox,
) -> None:
    mine = sorted([(await upload(f"file {n}".encode())).json()["id"] for n in range(3)])
    other_user = uuid.uuid4()
    theirs = (await upload(b"not affected", as_user=other_user)).json()["id"]
    handler = build_handlers(components_of(files_app, Components))[UserDeleted]
    event = UserDeleted(user_id=owner)

    for _ in range(2):  # a redelivery (past the inbox) finds nothing left to do
        async with sessions() as session, session.begin():
            await handler(session, event, Envelope.wrap(event, producer="users"))

    assert await storage.keys() == [theirs]
    async with sessions() as session:
        rows = (await session.scalars(select(File.id))).all()
        usage = (await session.scalars(select(StorageUsage.owner_id))).all()
    assert [str(row) for row in rows] == [theirs]
    assert usage == [other_user]
    published = await outbox("file.deleted")
    assert sorted(envelope["data"]["file_id"] for envelope in published) == mine
    assert {envelope["data"]["owner_id"] for envelope in published} == {str(owner)}
    assert (await client.get(FILES, headers=auth(owner))).json()["items"] == []
