"""Files: /api/v1/files. Uploads and downloads stream; neither holds a whole file in memory."""

from __future__ import annotations

import contextlib
import mimetypes
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, BinaryIO

from suite_client._async.base import AsyncBase
from suite_client.body import new_idempotency_key, segment
from suite_client.models import FilePage, FileRead
from suite_client.operation import operation
from suite_client.progress import CountingReader, Progress

FileSource = str | os.PathLike[str] | BinaryIO


class AsyncFiles(AsyncBase):
    @operation("GET", "/api/v1/files")
    async def files_list(self, *, limit: int | None = None, cursor: str | None = None) -> FilePage:
        """One page of the caller's files, newest first."""
        response = await self._send(
            "GET", "/api/v1/files", params={"limit": limit, "cursor": cursor}
        )
        return FilePage.model_validate_json(response.content)

    @operation("POST", "/api/v1/files")
    async def files_upload(
        self,
        source: FileSource,
        *,
        filename: str | None = None,
        content_type: str | None = None,
        progress: Progress | None = None,
        idempotency_key: str | None = None,
    ) -> FileRead:
        """Upload a whole file (a path or a binary file object), streamed; safe to retry."""
        with contextlib.ExitStack() as stack:
            if isinstance(source, str | os.PathLike):
                file: BinaryIO = stack.enter_context(Path(source).open("rb"))  # noqa: ASYNC230
                name = filename or Path(source).name
            else:
                file, name = source, filename or Path(getattr(source, "name", "upload")).name
            kind = content_type or mimetypes.guess_type(name)[0] or "application/octet-stream"
            reader = CountingReader(file, progress)
            response = await self._send(
                "POST",
                "/api/v1/files",
                body=lambda: {"files": {"file": (name, reader, kind)}},
                headers={"Idempotency-Key": idempotency_key or new_idempotency_key()},
                retryable=True,
            )
        return FileRead.model_validate_json(response.content)

    @operation("GET", "/api/v1/files/{file_id}")
    async def files_get(self, file_id: uuid.UUID | str) -> FileRead:
        response = await self._send("GET", f"/api/v1/files/{segment(file_id)}")
        return FileRead.model_validate_json(response.content)

    @operation("GET", "/api/v1/files/{file_id}/content")
    async def files_download(
        self,
        file_id: uuid.UUID | str,
        destination: str | os.PathLike[str] | BinaryIO,
        *,
        progress: Progress | None = None,
    ) -> int:
        """Stream the file's bytes into `destination` and return how many were written. A path
        is written beside itself first and renamed when complete, so it is never left half."""
        response = await self._send("GET", f"/api/v1/files/{segment(file_id)}/content", stream=True)
        try:
            if not isinstance(destination, str | os.PathLike):
                return await _copy(response.aiter_bytes(), destination, progress)
            target = Path(destination)
            partial = target.with_name(f".{target.name}.part")
            try:
                with partial.open("wb") as out:
                    written = await _copy(response.aiter_bytes(), out, progress)
                partial.replace(target)
            finally:
                partial.unlink(missing_ok=True)
            return written
        finally:
            await response.aclose()

    @operation("DELETE", "/api/v1/files/{file_id}")
    async def files_delete(self, file_id: uuid.UUID | str) -> None:
        await self._send("DELETE", f"/api/v1/files/{segment(file_id)}")

    @operation("GET", "/api/v1/files/ping")
    async def files_ping(self) -> dict[str, Any]:
        response = await self._send("GET", "/api/v1/files/ping")
        return dict(response.json())


async def _copy(chunks: AsyncIterator[bytes], out: BinaryIO, progress: Progress | None) -> int:
    written = 0
    async for chunk in chunks:
        out.write(chunk)
        written += len(chunk)
        if progress is not None:
            progress(len(chunk))
    return written
