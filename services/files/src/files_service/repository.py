"""Every SQL statement of the files service."""

import uuid
from collections.abc import Sequence

from sqlalchemy import delete, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from files_service.models import EVENT_TABLES, File, StorageUsage
from shared.events import DomainEvent, record_event
from shared.pagination import Position

PRODUCER = "files"


class FileRepository:
    """Files, owners' usage and the outbox, in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session

    async def used_bytes(self, *, owner_id: uuid.UUID) -> int:
        query = select(StorageUsage.used_bytes).where(StorageUsage.owner_id == owner_id)
        return (await self._session.scalars(query)).one_or_none() or 0

    async def reserve(self, *, owner_id: uuid.UUID, size: int, quota: int) -> bool:
        """Add `size` to the owner's usage unless that passes `quota`; True when added.

        One statement that locks the owner's row until commit: concurrent uploads of one owner
        are counted one after the other, so together they never pass the quota.
        """
        statement = insert(StorageUsage).values(owner_id=owner_id, used_bytes=size)
        added = await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[StorageUsage.owner_id],
                set_={"used_bytes": StorageUsage.used_bytes + statement.excluded.used_bytes},
                where=StorageUsage.used_bytes + statement.excluded.used_bytes <= quota,
            ).returning(StorageUsage.used_bytes)
        )
        return added.first() is not None

    async def release(self, *, owner_id: uuid.UUID, size: int) -> None:
        await self._session.execute(
            update(StorageUsage)
            .where(StorageUsage.owner_id == owner_id)
            .values(used_bytes=StorageUsage.used_bytes - size)
        )

    async def forget_usage(self, *, owner_id: uuid.UUID) -> None:
        await self._session.execute(delete(StorageUsage).where(StorageUsage.owner_id == owner_id))

    async def insert(
        self,
        *,
        file_id: uuid.UUID,
        owner_id: uuid.UUID,
        filename: str,
        content_type: str,
        size: int,
        sha256: str,
    ) -> File:
        inserted = await self._session.scalars(
            insert(File)
            .values(
                id=file_id,
                owner_id=owner_id,
                filename=filename,
                content_type=content_type,
                size=size,
                sha256=sha256,
            )
            .returning(File)
        )
        return inserted.one()

    async def get(self, *, owner_id: uuid.UUID, file_id: uuid.UUID) -> File | None:
        query = select(File).where(File.id == file_id, File.owner_id == owner_id)
        return (await self._session.scalars(query)).one_or_none()

    async def list_newest_first(
        self, *, owner_id: uuid.UUID, after: Position | None, limit: int
    ) -> Sequence[File]:
        """Up to `limit` of the owner's files in (created_at DESC, id DESC) order, after `after`."""
        query = (
            select(File)
            .where(File.owner_id == owner_id)
            .order_by(File.created_at.desc(), File.id.desc())
            .limit(limit)
        )
        if after is not None:
            # A row comparison, so the (owner_id, created_at, id) index serves it as one range.
            query = query.where(
                tuple_(File.created_at, File.id) < tuple_(after.created_at, after.id)
            )
        return (await self._session.scalars(query)).all()

    async def delete(self, *, owner_id: uuid.UUID, file_id: uuid.UUID) -> File | None:
        """Delete the owner's file; the deleted row, or None when there was none."""
        deleted = await self._session.scalars(
            delete(File).where(File.id == file_id, File.owner_id == owner_id).returning(File)
        )
        return deleted.one_or_none()

    async def delete_all(self, *, owner_id: uuid.UUID) -> Sequence[File]:
        """Delete every file of the owner; the deleted rows."""
        deleted = await self._session.scalars(
            delete(File).where(File.owner_id == owner_id).returning(File)
        )
        return deleted.all()

    async def record(self, *, event: DomainEvent) -> None:
        """Write `event` to the outbox in this transaction; it leaves only if the transaction commits."""
        await record_event(self._session, EVENT_TABLES.outbox, event, producer=PRODUCER)
