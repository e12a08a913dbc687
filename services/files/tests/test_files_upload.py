"""Uploads: the round trip, and every way an upload is refused or cut short leaving nothing behind."""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from files_service.settings import MIB
from files_service.storage import Storage
from shared.testing import assert_problem

FILES = "/api/v1/files"
FIELDS = {"id", "filename", "content_type", "size", "sha256", "created_at"}

Upload = Callable[..., Awaitable[httpx.Response]]
Auth = Callable[[uuid.UUID | str], dict[str, str]]
Check = Callable[[], Awaitable[None]]
Frame = Callable[..., AsyncIterator[bytes]]
Stream = Callable[..., AsyncIterator[bytes]]
Outbox = Callable[[str], Awaitable[list[dict[str, Any]]]]


@pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)
async def test_upload_read_list_download_delete(
    client: httpx.AsyncClient,
    upload: Upload,
    auth: Auth,
    owner: uuid.UUID,
    storage: Storage,
    nothing_left: Check,
) -> None:
    content = b"Dear diary,\nfiles are streamed.\n"
    created = await upload(content, filename="diary.txt", declared_type="image/png")
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == FIELDS
    assert (body["filename"], body["content_type"], body["size"]) == (
        "diary.txt",
        "text/plain; charset=utf-8",
        len(content),
    )
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert created.headers["location"] == f"{FILES}/{body['id']}"
    assert await storage.keys() == [body["id"]]

    headers = auth(owner)
    assert (await client.get(f"{FILES}/{body['id']}", headers=headers)).json() == body
    assert (await client.get(FILES, headers=headers)).json() == {
        "items": [body],
        "next_cursor": None,
    }
    download = await client.get(f"{FILES}/{body['id']}/content", headers=headers)
    assert download.status_code == 200
    assert download.content == content
    assert download.headers["content-type"] == "text/plain; charset=utf-8"
    assert download.headers["content-length"] == str(len(content))

    deleted = await client.delete(f"{FILES}/{body['id']}", headers=headers)
    assert deleted.status_code == 204
    assert deleted.content == b""
    assert_problem(await client.get(f"{FILES}/{body['id']}", headers=headers), 404, "not_found")
    content_gone = await client.get(f"{FILES}/{body['id']}/content", headers=headers)
    assert_problem(content_gone, 404, "not_found")
    assert_problem(await client.delete(f"{FILES}/{body['id']}", headers=headers), 404, "not_found")
    await nothing_left()


@pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)
async def test_a_large_upload_round_trips_in_parts(
    client: httpx.AsyncClient,
    upload: Upload,
    auth: Auth,
    owner: uuid.UUID,
    set_limits: Callable[..., None],
    stream: Stream,
) -> None:
    """12 MiB: several S3 parts; the digest is computed on the way in and checked on the way out."""
    size = 12 * MIB
    set_limits(max_file_bytes=size, quota_bytes=size)
    expected = hashlib.sha256()
    async for chunk in stream(size):
        expected.update(chunk)
    created = await upload(stream(size), filename="big.bin")
    assert created.status_code == 201, created.text
    assert (created.json()["size"], created.json()["sha256"]) == (size, expected.hexdigest())
    assert created.json()["content_type"] == "application/octet-stream"
    url = f"{FILES}/{created.json()['id']}/content"
    download = await client.get(url, headers=auth(owner))
    assert hashlib.sha256(download.content).hexdigest() == expected.hexdigest()


async def test_a_file_at_the_limit_is_accepted(upload: Upload, stream: Stream) -> None:
    created = await upload(stream(MIB))
    assert created.status_code == 201, created.text
    assert created.json()["size"] == MIB


@pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)
async def test_a_file_over_the_limit_is_refused_and_reading_stops(
    upload: Upload, nothing_left: Check, set_limits: Callable[..., None]
) -> None:
    set_limits(max_file_bytes=6 * MIB, quota_bytes=100 * MIB)  # past one S3 part
    pulled = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(1000):  # 64 MiB, were it all read
            pulled += 64 * 1024
            yield b"\xff" * (64 * 1024)

    refused = await upload(endless())
    assert_problem(refused, 413, "file_too_large")
    assert pulled <= 6 * MIB + 128 * 1024, pulled
    await nothing_left()


@pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)
async def test_a_body_that_fails_mid_stream_leaves_nothing(
    upload: Upload, stream: Stream, set_limits: Callable[..., None], nothing_left: Check
) -> None:
    set_limits(max_file_bytes=20 * MIB, quota_bytes=20 * MIB)

    async def broken() -> AsyncIterator[bytes]:
        async for chunk in stream(7 * MIB):  # past one S3 part
            yield chunk
        raise ConnectionResetError("the client went away")

    response = await upload(broken())
    assert_problem(response, 500, "internal_error")
    await nothing_left()


async def test_a_truncated_body_leaves_nothing(
    upload: Upload, stream: Stream, nothing_left: Check
) -> None:
    assert_problem(await upload(stream(300_000), close=False), 400, "malformed_multipart")
    await nothing_left()


async def test_a_client_disconnect_leaves_nothing(
    files_app: FastAPI, auth: Auth, owner: uuid.UUID, nothing_left: Check
) -> None:
    """The server sees `http.disconnect` mid-body, as uvicorn reports a closed connection."""
    head = (
        b'--B\r\nContent-Disposition: form-data; name="file"; filename="a.bin"\r\n\r\n'
        + b"\x00" * 100_000
    )
    messages = [{"type": "http.request", "body": head, "more_body": True}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    headers = {**auth(owner), "content-type": "multipart/form-data; boundary=B"}
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": FILES,
        "raw_path": FILES.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()],
        "client": ("127.0.0.1", 50000),
        "server": ("test", 80),
    }
    await files_app(scope, receive, send)
    assert sent[0]["status"] == 400
    assert b'"upload_interrupted"' in sent[1]["body"]
    await nothing_left()


async def test_a_form_without_the_file_field_is_refused(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, frame: Frame, nothing_left: Check
) -> None:
    form = await client.post(
        FILES, headers=auth(owner), data={"title": "no file here"}, files={"other": ("a", b"x")}
    )
    assert_problem(form, 422, "missing_file")
    headers = {**auth(owner), "Content-Type": "multipart/form-data; boundary=B"}
    empty = await client.post(FILES, headers=headers, content=b"--B--\r\n")
    assert_problem(empty, 422, "missing_file")
    await nothing_left()


async def test_other_fields_are_ignored_within_their_allowance(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, nothing_left: Check
) -> None:
    files = {"file": ("a.txt", b"hello")}
    kept = await client.post(FILES, headers=auth(owner), data={"note": "kept?"}, files=files)
    assert kept.status_code == 201, kept.text
    assert kept.json()["size"] == 5
    bulky = await client.post(FILES, headers=auth(owner), data={"note": "n" * 70_000}, files=files)
    assert_problem(bulky, 413, "fields_too_large")


async def test_a_second_file_is_refused_and_nothing_is_kept(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, nothing_left: Check
) -> None:
    files = [("file", ("a.txt", b"first")), ("file", ("b.txt", b"second"))]
    assert_problem(
        await client.post(FILES, headers=auth(owner), files=files), 422, "too_many_files"
    )
    await nothing_left()


@pytest.mark.parametrize(
    "content_type",
    [
        None,
        "application/json",
        "text/plain",
        "application/x-www-form-urlencoded",
        "multipart/mixed; boundary=B",
    ],
)
async def test_a_body_that_is_not_a_form_is_unsupported(
    client: httpx.AsyncClient, auth: Auth, owner: uuid.UUID, content_type: str | None
) -> None:
    headers = auth(owner) | ({"Content-Type": content_type} if content_type else {})
    response = await client.post(FILES, headers=headers, content=b'{"file": "x"}')
    assert_problem(response, 415, "unsupported_media_type")


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("multipart/form-data", b"--B\r\n\r\n"),
        ("multipart/form-data; boundary=", b"--\r\n"),
        ("multipart/form-data; boundary=B", b"complete garbage, no boundary anywhere"),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nContent-Type: text/plain\r\n\r\nx\r\n--B--\r\n",
        ),
        (
            "multipart/form-data; boundary=B",
            b"--B\r\nno colon in this header\r\n\r\nx\r\n--B--\r\n",
        ),
        ("multipart/form-data; boundary=B", b""),
    ],
    ids=["no_boundary", "empty_boundary", "garbage", "no_disposition", "bad_header", "empty"],
)
async def test_a_malformed_form_is_refused(
    client: httpx.AsyncClient,
    auth: Auth,
    owner: uuid.UUID,
    nothing_left: Check,
    content_type: str,
    body: bytes,
) -> None:
    headers = {**auth(owner), "Content-Type": content_type}
    assert_problem(
        await client.post(FILES, headers=headers, content=body), 400, "malformed_multipart"
    )
    await nothing_left()


async def test_uploads_publish_file_uploaded_with_the_row(
    upload: Upload, owner: uuid.UUID, outbox: Outbox
) -> None:
    body = (await upload(b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, filename="pic.png")).json()
    [envelope] = await outbox("file.uploaded")
    assert (envelope["type"], envelope["version"], envelope["producer"]) == (
        "file.uploaded",
        1,
        "files",
    )
    assert envelope["data"] == {
        "file_id": body["id"],
        "owner_id": str(owner),
        "filename": "pic.png",
        "content_type": "image/png",
        "size": 72,
        "sha256": body["sha256"],
    }


async def test_refused_uploads_publish_nothing(upload: Upload, outbox: Outbox) -> None:
    assert (await upload(b"x" * (MIB + 1))).status_code == 413
    assert await outbox("file.uploaded") == []
