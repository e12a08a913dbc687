"""What a storage backend offers: blobs written under a temporary name, then committed or aborted."""

import functools
import re
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol, TypeVar

import anyio.to_thread

T = TypeVar("T")

READ_CHUNK_BYTES = 256 * 1024
_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")


class BlobNotFound(Exception):
    """No committed blob under this key."""


class BlobWriter(Protocol):
    """One blob being written: invisible under its key until `commit`, gone after `abort`."""

    async def write(self, chunk: bytes) -> None:
        """Append `chunk`; memory stays bounded whatever the blob's size."""

    async def commit(self) -> None:
        """Make the blob visible under its key, whole and at once."""

    async def abort(self) -> None:
        """Drop everything written; safe to call twice, and a no-op after `commit`."""


class Storage(Protocol):
    """A place for blobs, named by keys the service chooses (a file's id)."""

    async def open_writer(self, key: str) -> BlobWriter:
        """Start writing the blob `key` under a temporary name."""

    async def read(self, key: str, *, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes [start, stop) of `key` as chunks; BlobNotFound is raised before the first."""

    async def delete(self, key: str) -> None:
        """Remove `key`; deleting a missing blob is not an error."""

    async def exists(self, key: str) -> bool:
        """Whether a committed blob `key` exists."""

    async def keys(self) -> list[str]:
        """Every committed key."""

    async def pending(self) -> list[str]:
        """Writes begun and neither committed nor aborted (a crash leaves these for a sweep)."""


def check_key(key: str) -> str:
    """Keys are ids the service chose; anything else (a path, `..`) never reaches a backend."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"not a storage key: {key!r}")
    return key


async def run_blocking(function: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run blocking I/O in a worker thread, so the event loop never waits on a disk or a socket."""
    return await anyio.to_thread.run_sync(functools.partial(function, *args, **kwargs))
