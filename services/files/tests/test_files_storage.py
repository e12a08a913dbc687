"""Both storage backends keep one contract: a blob shows under its key only once committed, an
aborted or unfinished write leaves nothing, and ranges read back exactly."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Callable

import pytest

from files_service.settings import MIB
from files_service.storage import BlobNotFound, Storage

pytestmark = pytest.mark.parametrize("backend", ["local", "s3"], indirect=True)

Stream = Callable[..., AsyncIterator[bytes]]


async def read_all(backend: Storage, key: str, start: int, stop: int) -> bytes:
    return b"".join([chunk async for chunk in await backend.read(key, start=start, stop=stop)])


async def write(backend: Storage, key: str, stream: AsyncIterator[bytes]) -> bytes:
    """Write and commit `stream` under `key`; returns what was written."""
    writer = await backend.open_writer(key)
    written = bytearray()
    async for chunk in stream:
        written += chunk
        await writer.write(chunk)
    await writer.commit()
    return bytes(written)


async def test_a_blob_appears_only_when_committed(backend: Storage) -> None:
    writer = await backend.open_writer("blob-1")
    await writer.write(b"hello, ")
    await writer.write(b"world")
    assert not await backend.exists("blob-1")
    assert await backend.keys() == []
    await writer.commit()
    assert await backend.exists("blob-1")
    assert await backend.keys() == ["blob-1"]
    assert await backend.pending() == []
    assert await read_all(backend, "blob-1", 0, 12) == b"hello, world"
    await writer.abort()  # after commit: nothing happens
    assert await backend.exists("blob-1")


async def test_ranges_read_back_exactly(backend: Storage) -> None:
    data = bytes(range(256)) * 40
    await write(backend, "ranged", _chunks(data, 1000))
    assert await read_all(backend, "ranged", 0, len(data)) == data
    assert await read_all(backend, "ranged", 100, 200) == data[100:200]
    assert await read_all(backend, "ranged", len(data) - 1, len(data)) == data[-1:]
    assert await read_all(backend, "ranged", 5, 5) == b""


async def test_an_aborted_write_leaves_nothing(backend: Storage) -> None:
    writer = await backend.open_writer("gone")
    await writer.write(b"x" * 1000)
    await writer.abort()
    await writer.abort()  # twice is fine
    assert not await backend.exists("gone")
    assert (await backend.keys(), await backend.pending()) == ([], [])


async def test_a_large_blob_goes_up_in_parts_and_reads_back(
    backend: Storage, stream: Stream
) -> None:
    """11 MiB: more than two S3 parts of 5 MiB, and more than the local write batch."""
    size = 11 * MIB
    writer = await backend.open_writer("large")
    digest = hashlib.sha256()
    async for chunk in stream(size):
        digest.update(chunk)
        await writer.write(chunk)
    # Parts already uploaded (S3) or written (local) are not a blob yet.
    assert not await backend.exists("large")
    assert len(await backend.pending()) == 1
    await writer.commit()
    assert await backend.pending() == []
    read = hashlib.sha256()
    async for chunk in await backend.read("large", start=0, stop=size):
        read.update(chunk)
    assert read.hexdigest() == digest.hexdigest()
    boundary = 5 * MIB  # across the first part boundary
    expected = b"".join([c async for c in stream(size)])[boundary - 10 : boundary + 10]
    assert await read_all(backend, "large", boundary - 10, boundary + 10) == expected


async def test_an_aborted_large_write_leaves_no_parts(backend: Storage, stream: Stream) -> None:
    writer = await backend.open_writer("large-gone")
    async for chunk in stream(6 * MIB):
        await writer.write(chunk)
    assert len(await backend.pending()) == 1
    await writer.abort()
    assert (await backend.keys(), await backend.pending()) == ([], [])


async def test_an_empty_blob(backend: Storage) -> None:
    writer = await backend.open_writer("empty")
    await writer.commit()
    assert await backend.exists("empty")
    assert await read_all(backend, "empty", 0, 0) == b""


async def test_delete_is_idempotent_and_missing_blobs_are_not_found(backend: Storage) -> None:
    await write(backend, "doomed", _chunks(b"bytes", 2))
    await backend.delete("doomed")
    await backend.delete("doomed")
    assert not await backend.exists("doomed")
    with pytest.raises(BlobNotFound):
        await backend.read("doomed", start=0, stop=5)
    with pytest.raises(BlobNotFound):
        await backend.read("never-written", start=0, stop=0)


async def test_committing_again_replaces_a_blob_whole(backend: Storage) -> None:
    await write(backend, "same", _chunks(b"first version", 4))
    await write(backend, "same", _chunks(b"second", 4))
    assert await read_all(backend, "same", 0, 6) == b"second"
    assert await backend.keys() == ["same"]


@pytest.mark.parametrize("key", ["", "../escape", "a/b", "a\\b", ".hidden", "x" * 200, "é"])
async def test_keys_that_are_not_ids_never_reach_the_backend(backend: Storage, key: str) -> None:
    with pytest.raises(ValueError, match="not a storage key"):
        await backend.open_writer(key)
    with pytest.raises(ValueError, match="not a storage key"):
        await backend.delete(key)


async def _chunks(data: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start : start + size]
