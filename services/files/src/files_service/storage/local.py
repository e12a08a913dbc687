"""Blobs as files in one folder (shared by the replicas of a host): temp file, fsync, `os.replace`."""

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from files_service.storage.base import (
    READ_CHUNK_BYTES,
    BlobNotFound,
    BlobWriter,
    check_key,
    run_blocking,
)

# Chunks are gathered up to this size before a write, so a thread hop is not paid per small chunk.
_WRITE_BATCH_BYTES = 1024 * 1024


class LocalStorage:
    """`<root>/blobs/<2 chars>/<key>` holds committed blobs; `<root>/tmp/` the ones being written.

    Both are on one filesystem, so `os.replace` makes a blob appear whole or not at all.
    """

    def __init__(self, *, root: Path) -> None:
        self._blobs = root / "blobs"
        self._tmp = root / "tmp"

    def _path(self, key: str) -> Path:
        return self._blobs / check_key(key)[:2] / key

    async def open_writer(self, key: str) -> BlobWriter:
        final = self._path(key)
        temp = self._tmp / f"{key}.{uuid.uuid4().hex}.part"

        def create() -> BinaryIO:
            self._tmp.mkdir(parents=True, exist_ok=True)
            return temp.open("xb")

        return LocalBlobWriter(handle=await run_blocking(create), temp=temp, final=final)

    async def read(self, key: str, *, start: int, stop: int) -> AsyncIterator[bytes]:
        path = self._path(key)

        def open_at_start() -> BinaryIO:
            try:
                handle = path.open("rb")
            except FileNotFoundError:
                raise BlobNotFound(key) from None
            handle.seek(start)
            return handle

        handle = await run_blocking(open_at_start)
        return _chunks(handle, stop - start)

    async def delete(self, key: str) -> None:
        await run_blocking(self._path(key).unlink, missing_ok=True)

    async def exists(self, key: str) -> bool:
        return await run_blocking(self._path(key).is_file)

    async def keys(self) -> list[str]:
        def walk() -> list[str]:
            return sorted(path.name for path in self._blobs.glob("*/*") if path.is_file())

        return await run_blocking(walk)

    async def pending(self) -> list[str]:
        def walk() -> list[str]:
            return sorted(path.name for path in self._tmp.glob("*.part"))

        return await run_blocking(walk)


async def _chunks(handle: BinaryIO, length: int) -> AsyncIterator[bytes]:
    try:
        while length > 0:
            chunk = await run_blocking(handle.read, min(READ_CHUNK_BYTES, length))
            if not chunk:
                return
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


class LocalBlobWriter:
    """A temp file under `tmp/`; `commit` fsyncs it and renames it over the final path."""

    def __init__(self, *, handle: BinaryIO, temp: Path, final: Path) -> None:
        self._handle = handle
        self._temp = temp
        self._final = final
        self._batch: list[bytes] = []
        self._batched = 0
        self._done = False

    async def write(self, chunk: bytes) -> None:
        self._batch.append(chunk)
        self._batched += len(chunk)
        if self._batched >= _WRITE_BATCH_BYTES:
            await self._flush()

    async def _flush(self) -> None:
        batch, self._batch, self._batched = self._batch, [], 0
        await run_blocking(self._handle.writelines, batch)

    async def commit(self) -> None:
        await self._flush()

        def publish() -> None:
            self._handle.flush()
            os.fsync(self._handle.fileno())
            self._handle.close()
            self._final.parent.mkdir(parents=True, exist_ok=True)
            os.replace(self._temp, self._final)
            # The rename itself is durable only once the folder is synced too.
            folder = os.open(self._final.parent, os.O_RDONLY)
            try:
                os.fsync(folder)
            finally:
                os.close(folder)

        await run_blocking(publish)
        self._done = True

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        self._batch = []

        def discard() -> None:
            self._handle.close()
            self._temp.unlink(missing_ok=True)

        await run_blocking(discard)
