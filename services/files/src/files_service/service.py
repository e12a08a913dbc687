"""The rules of stored files; one commit per use case, and no web framework."""

import hashlib
import logging
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass

import anyio
from sqlalchemy.ext.asyncio import AsyncSession

from files_service.errors import FileNotFound, FileTooLarge, QuotaExceeded
from files_service.filenames import sanitize_filename
from files_service.models import File
from files_service.repository import FileRepository
from files_service.sniffing import SNIFF_BYTES, detect_content_type
from files_service.storage import BlobNotFound, BlobWriter, Storage
from shared.contracts import FileDeleted, FileUploaded
from shared.pagination import CursorCodec, Page, Position, paginate

logger = logging.getLogger("files_service")


@dataclass(frozen=True)
class UploadLimits:
    """How large one file may be, and how much one owner may store."""

    max_file_bytes: int
    quota_bytes: int


@dataclass(frozen=True)
class Received:
    """What streamed through an upload: its size, digest and first bytes."""

    size: int
    sha256: str
    head: bytes


class FileService:
    """Stores, lists, serves and deletes an owner's files; events leave through the outbox."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        storage: Storage,
        limits: UploadLimits,
        cursors: CursorCodec,
    ) -> None:
        self._session = session
        self._storage = storage
        self._limits = limits
        self._cursors = cursors
        self._files = FileRepository(session=session)

    async def upload_file(
        self,
        *,
        owner_id: uuid.UUID,
        filename: str,
        chunks: AsyncIterable[bytes],
        claim: Callable[[str], Awaitable[None]] | None = None,
    ) -> File:
        """A file is kept only whole and within the size limit and the owner's quota; otherwise
        neither blob nor row remains. Row, usage and `file.uploaded` commit together, with the
        `claim` of a repeatable request (called with what the upload is, once it is known)."""
        file_id = uuid.uuid4()
        room = self._limits.quota_bytes - await self._files.used_bytes(owner_id=owner_id)
        # The body may stream for minutes: hold no connection meanwhile (nothing was written).
        await self._session.rollback()
        writer = await self._storage.open_writer(str(file_id))
        try:
            received = await self._receive(chunks, writer, room=room)
            if claim is not None:
                await claim(f"{filename}\n{received.size}\n{received.sha256}")
            file = await self._record_upload(
                file_id=file_id, owner_id=owner_id, filename=filename, received=received
            )
            # The blob first: a crash before the row commits leaves an orphan blob, never a row
            # without its bytes.
            await writer.commit()
        except BaseException:
            await _clean_up(writer.abort, what="aborting an upload")
            raise
        try:
            await self._session.commit()
        except BaseException:
            await _clean_up(lambda: self._storage.delete(str(file_id)), what="removing a blob")
            raise
        return file

    async def _record_upload(
        self, *, file_id: uuid.UUID, owner_id: uuid.UUID, filename: str, received: Received
    ) -> File:
        """Count the bytes against the quota (race-safe), then write the row and its event."""
        if not await self._files.reserve(
            owner_id=owner_id, size=received.size, quota=self._limits.quota_bytes
        ):
            raise QuotaExceeded("This upload would exceed your storage quota.")
        whole = received.size == len(received.head)
        file = await self._files.insert(
            file_id=file_id,
            owner_id=owner_id,
            filename=sanitize_filename(filename),
            content_type=detect_content_type(received.head, whole=whole),
            size=received.size,
            sha256=received.sha256,
        )
        await self._files.record(
            event=FileUploaded(
                file_id=file.id,
                owner_id=owner_id,
                filename=file.filename,
                content_type=file.content_type,
                size=file.size,
                sha256=file.sha256,
            )
        )
        return file

    async def _receive(
        self, chunks: AsyncIterable[bytes], writer: BlobWriter, *, room: int
    ) -> Received:
        """Stream into `writer`, refusing as soon as the size limit or the quota is passed."""
        digest = hashlib.sha256()
        size = 0
        head = bytearray()
        async for chunk in chunks:
            size += len(chunk)
            self._check_size(size, room=room)
            digest.update(chunk)
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            await writer.write(chunk)
        self._check_size(size, room=room)
        return Received(size=size, sha256=digest.hexdigest(), head=bytes(head))

    def _check_size(self, size: int, *, room: int) -> None:
        if size > self._limits.max_file_bytes:
            raise FileTooLarge(f"A file may have at most {self._limits.max_file_bytes} bytes.")
        if size > room:
            raise QuotaExceeded("This upload would exceed your storage quota.")

    async def get_file(self, *, owner_id: uuid.UUID, file_id: uuid.UUID) -> File:
        """The owner's file; another owner's is not found, exactly like a missing one."""
        file = await self._files.get(owner_id=owner_id, file_id=file_id)
        if file is None:
            raise FileNotFound()
        return file

    async def read_content(self, *, file: File, start: int, stop: int) -> AsyncIterator[bytes]:
        """Bytes [start, stop) of the file; the read transaction ends first, so no connection is
        held while they stream. A blob deleted meanwhile is a file not found."""
        await self._session.close()
        try:
            return await self._storage.read(str(file.id), start=start, stop=stop)
        except BlobNotFound:
            raise FileNotFound() from None

    async def list_files(
        self, *, owner_id: uuid.UUID, limit: int, cursor: str | None
    ) -> Page[File]:
        """Newest first by (created_at, id); a cursor names the last row seen, so pages never
        overlap, and is signed for its owner, so it pages no one else's files."""

        async def fetch(after: Position | None, count: int) -> Sequence[File]:
            return await self._files.list_newest_first(owner_id=owner_id, after=after, limit=count)

        return await paginate(
            fetch, cursors=self._cursors, cursor=cursor, limit=limit, scope=str(owner_id)
        )

    async def delete_file(self, *, owner_id: uuid.UUID, file_id: uuid.UUID) -> None:
        """Row, usage and `file.deleted` commit together; the blob goes after the commit (after a
        crash in between, an orphan blob is harmless)."""
        file = await self._files.delete(owner_id=owner_id, file_id=file_id)
        if file is None:
            raise FileNotFound()
        await self._files.release(owner_id=owner_id, size=file.size)
        await self._files.record(event=FileDeleted(file_id=file.id, owner_id=owner_id))
        await self._session.commit()
        await _clean_up(lambda: self._storage.delete(str(file.id)), what="removing a blob")


class ForeignEventsService:
    """Applies other services' events to stored files.

    Runs in the consumer's transaction (committed together with its inbox row): never commits.
    """

    def __init__(self, *, session: AsyncSession, storage: Storage) -> None:
        self._files = FileRepository(session=session)
        self._storage = storage

    async def user_deleted(self, *, user_id: uuid.UUID) -> None:
        """Every file of a deleted user goes, each with its `file.deleted`; a second purge finds
        nothing. A handler cannot outlive the consumer's transaction: blobs go before its commit,
        and if that commit fails, the redelivered event finishes the purge."""
        files = await self._files.delete_all(owner_id=user_id)
        await self._files.forget_usage(owner_id=user_id)
        for file in files:
            await self._files.record(event=FileDeleted(file_id=file.id, owner_id=user_id))
        for file in files:
            await self._storage.delete(str(file.id))


async def _clean_up(action: Callable[[], Awaitable[None]], *, what: str) -> None:
    """Run a clean-up even while the request is being cancelled; its own failure is only logged,
    so the error that caused it is the one that propagates."""
    with anyio.CancelScope(shield=True):
        try:
            await action()
        except Exception:
            logger.warning("%s failed; a sweep may remove what is left", what, exc_info=True)
