"""The per-user quota: counted while an upload streams, and again, race-safe, at its commit."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
from fastapi import FastAPI

from files_service.components import Components
from files_service.repository import FileRepository
from files_service.service import UploadLimits
from files_service.settings import MIB
from shared.testing import (
    asgi_client,
    assert_problem,
    components_of,
    replaced_components,
    runtime_of,
)

FILES = "/api/v1/files"

Upload = Callable[..., Awaitable[httpx.Response]]
Auth = Callable[[uuid.UUID | str], dict[str, str]]
Check = Callable[[], Awaitable[None]]
Stream = Callable[..., AsyncIterator[bytes]]


async def test_the_quota_counts_every_file_of_the_owner(
    client: httpx.AsyncClient,
    upload: Upload,
    auth: Auth,
    owner: uuid.UUID,
    stream: Stream,
    leftovers: Callable[[], Awaitable[dict[str, Any]]],
) -> None:
    """3 MiB each: three files of 1 MiB fit; one byte more does not, until a file is deleted."""
    ids = [(await upload(stream(MIB))).json()["id"] for _ in range(3)]
    before = await leftovers()
    assert_problem(await upload(b"x"), 413, "quota_exceeded")
    assert await leftovers() == before
    # Another user has a quota of their own.
    assert (await upload(b"x", as_user=uuid.uuid4())).status_code == 201

    assert (await client.delete(f"{FILES}/{ids[0]}", headers=auth(owner))).status_code == 204
    assert (await upload(stream(MIB))).status_code == 201
    assert (await upload(b"")).status_code == 201  # an empty file fits a full quota


async def test_the_quota_is_checked_while_streaming(
    upload: Upload, stream: Stream, set_limits: Callable[..., None], nothing_left: Check
) -> None:
    set_limits(max_file_bytes=10 * MIB, quota_bytes=2 * MIB)
    assert_problem(await upload(stream(3 * MIB)), 413, "quota_exceeded")
    await nothing_left()


async def test_usage_added_while_an_upload_streams_is_counted_at_commit(
    files_app: FastAPI, upload: Upload, owner: uuid.UUID, stream: Stream, nothing_left: Check
) -> None:
    """The race: another upload of the same owner commits while this one streams. The final
    accounting (a conditional update of the owner's usage row) refuses what no longer fits."""

    async def racing() -> AsyncIterator[bytes]:
        async for chunk in stream(MIB):
            yield chunk
        async with runtime_of(files_app).sessions() as session:
            assert await FileRepository(session=session).reserve(
                owner_id=owner, size=int(2.5 * MIB), quota=3 * MIB
            )
            await session.commit()

    assert_problem(await upload(racing()), 413, "quota_exceeded")
    await nothing_left()


async def test_concurrent_uploads_never_pass_the_quota_together(
    committed_app: FastAPI, auth: Auth, frame: Callable[..., Any], stream: Callable[..., Any]
) -> None:
    """Real commits and row locks: both uploads pass the check while streaming (each fits), both
    reach the final accounting, and exactly one of them is kept."""
    owner = uuid.uuid4()
    both_streaming = asyncio.Barrier(2)

    async def body() -> Any:
        async for chunk in stream(2 * MIB):
            yield chunk
        await both_streaming.wait()

    async with asgi_client(committed_app) as http:
        headers = {
            **auth(owner),
            "Content-Type": "multipart/form-data; boundary=race",
        }
        limits = UploadLimits(max_file_bytes=3 * MIB, quota_bytes=3 * MIB)
        with replaced_components(committed_app, limits=limits):
            responses = await asyncio.gather(
                *(
                    http.post(FILES, headers=headers, content=frame(body(), boundary="race"))
                    for _ in range(2)
                )
            )
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [201, 413], [r.text for r in responses]
        refused = next(r for r in responses if r.status_code == 413)
        assert_problem(refused, 413, "quota_exceeded")
        listed = (await http.get(FILES, headers=auth(owner))).json()["items"]
        assert len(listed) == 1
        storage = components_of(committed_app, Components).storage
        assert await storage.keys() == [listed[0]["id"]]
        assert await storage.pending() == []
