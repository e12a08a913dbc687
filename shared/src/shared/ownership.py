"""Who owns which file, as a service that lets users refer to their files learns it from file
events: a table each such service keeps in its own database, the statements on it, and the
handlers that feed it.

`file.deleted` keeps the row as a tombstone (`deleted_at` set), also when it arrives before the
upload: a late or redelivered `file.uploaded` then finds the row and cannot revive the file.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Collection
from typing import Any, Protocol

from sqlalchemy import Column, DateTime, Index, MetaData, Table, Uuid, delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import FileDeleted, FileUploaded
from shared.events import DomainEvent, Envelope


def define_known_files(metadata: MetaData) -> Table:
    """Add `known_file` (id, owner_id, deleted_at) to a service's own metadata."""
    return Table(
        "known_file",
        metadata,
        Column("id", Uuid, primary_key=True),
        Column("owner_id", Uuid, nullable=False),
        Column("deleted_at", DateTime(timezone=True)),
        Index("ix_known_file_owner_id", "owner_id"),
    )


class KnownFiles:
    """The read model of file ownership, in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession, table: Table) -> None:
        self._session = session
        self._table = table

    async def add(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        """Record a live file unless the id is known already, alive or as a tombstone."""
        await self._session.execute(
            insert(self._table)
            .values(id=file_id, owner_id=owner_id)
            .on_conflict_do_nothing(index_elements=[self._table.c.id])
        )

    async def bury(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        """Mark the file deleted, creating its tombstone if its upload has not arrived yet.

        The upsert locks the row exclusively, so it waits for writers that hold it FOR SHARE.
        """
        deleted_at = self._table.c.deleted_at
        statement = insert(self._table).values(id=file_id, owner_id=owner_id, deleted_at=func.now())
        await self._session.execute(
            statement.on_conflict_do_update(
                index_elements=[self._table.c.id],
                set_={"deleted_at": func.coalesce(deleted_at, func.now())},
            )
        )

    async def lock_usable(
        self, *, owner_id: uuid.UUID, file_ids: Collection[uuid.UUID]
    ) -> set[uuid.UUID]:
        """Which of `file_ids` are live files of `owner_id`, held FOR SHARE until commit.

        The share lock keeps a concurrent `file.deleted` from burying a file between this check
        and the write that refers to it: the burial waits, then finds the new reference.
        """
        if not file_ids:
            return set()
        columns = self._table.c
        usable = await self._session.scalars(
            select(columns.id)
            .where(
                columns.id.in_(file_ids),
                columns.owner_id == owner_id,
                columns.deleted_at.is_(None),
            )
            .order_by(columns.id)
            .with_for_update(read=True)
        )
        return set(usable.all())

    async def delete_owned_by(self, *, owner_id: uuid.UUID) -> None:
        """Forget every file of `owner_id`, tombstones too."""
        await self._session.execute(delete(self._table).where(self._table.c.owner_id == owner_id))


class AppliesFileEvents(Protocol):
    """A service's use cases for other services' file events (they run in the consumer's
    transaction and never commit)."""

    async def file_uploaded(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None: ...

    async def file_deleted(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None: ...


FileHandler = Callable[[AsyncSession, Any, Envelope], Awaitable[None]]


def file_event_handlers(
    applier: Callable[[AsyncSession], AppliesFileEvents],
) -> dict[type[DomainEvent], FileHandler]:
    """Handlers of `file.uploaded` and `file.deleted` that hand each to `applier(session)`."""

    async def on_file_uploaded(session: AsyncSession, event: FileUploaded, _: Envelope) -> None:
        await applier(session).file_uploaded(file_id=event.file_id, owner_id=event.owner_id)

    async def on_file_deleted(session: AsyncSession, event: FileDeleted, _: Envelope) -> None:
        await applier(session).file_deleted(file_id=event.file_id, owner_id=event.owner_id)

    return {FileUploaded: on_file_uploaded, FileDeleted: on_file_deleted}
