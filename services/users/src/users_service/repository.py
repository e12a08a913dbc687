"""Every SQL statement of the users service."""

import functools
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import bindparam, delete, func, select, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.db import CompiledRead
from shared.events import DomainEvent, record_event
from shared.ownership import KnownFiles
from shared.pagination import Position
from users_service.models import EVENT_TABLES, KNOWN_FILES, Profile
from users_service.schemas import ProfileRead

PRODUCER = "users"


@functools.cache
def _profile_by_id() -> CompiledRead:
    columns = [getattr(Profile, name) for name in ProfileRead.model_fields]
    return CompiledRead(select(*columns).where(Profile.id == bindparam("user_id")))


class ProfileReads:
    """Profiles as clients read them, each in one statement on a connection of its own (no
    session, no transaction)."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def get(self, *, user_id: uuid.UUID) -> ProfileRead | None:
        rows = await _profile_by_id().fetch_alone(self._sessions, user_id=user_id)
        return ProfileRead.model_validate(dict(rows[0])) if rows else None


class ProfileRepository:
    """Profiles and the outbox, in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session

    async def insert_if_absent(self, *, user_id: uuid.UUID, email: str, username: str) -> bool:
        """Insert a profile unless one with this id exists; True when inserted."""
        inserted = await self._session.execute(
            insert(Profile)
            .values(id=user_id, email=email, username=username)
            .on_conflict_do_nothing(index_elements=[Profile.id])
            .returning(Profile.id)
        )
        return inserted.first() is not None

    async def get(self, *, user_id: uuid.UUID, for_update: bool = False) -> Profile | None:
        query = select(Profile).where(Profile.id == user_id)
        if for_update:
            query = query.with_for_update()
        return (await self._session.scalars(query)).one_or_none()

    async def update(self, *, user_id: uuid.UUID, values: Mapping[str, Any]) -> Profile:
        """Set `values` and `updated_at`; the row must exist (the caller holds its lock)."""
        query = (
            update(Profile)
            .where(Profile.id == user_id)
            .values(**values, updated_at=func.now())
            .returning(Profile)
        )
        result = await self._session.scalars(query, execution_options={"populate_existing": True})
        return result.one()

    async def mark_email_verified(self, *, user_id: uuid.UUID, email: str) -> bool:
        """Flag the profile's email verified if it is still `email`; False when no profile has
        this id."""
        found = await self._session.execute(
            update(Profile)
            .where(Profile.id == user_id)
            .values(email_verified=Profile.email_verified | (Profile.email == email))
            .returning(Profile.id)
        )
        return found.first() is not None

    async def delete(self, *, user_id: uuid.UUID) -> bool:
        """Delete the profile; True when there was one."""
        deleted = await self._session.execute(
            delete(Profile).where(Profile.id == user_id).returning(Profile.id)
        )
        return deleted.first() is not None

    async def clear_avatar(self, *, file_id: uuid.UUID) -> Sequence[Profile]:
        """Unset the avatar wherever it is `file_id`; the profiles changed."""
        query = (
            update(Profile)
            .where(Profile.avatar_file_id == file_id)
            .values(avatar_file_id=None, updated_at=func.now())
            .returning(Profile)
        )
        result = await self._session.scalars(query, execution_options={"populate_existing": True})
        return result.all()

    async def list_newest_first(self, *, after: Position | None, limit: int) -> Sequence[Profile]:
        """Up to `limit` profiles in (created_at DESC, id DESC) order, strictly after `after`."""
        query = select(Profile).order_by(Profile.created_at.desc(), Profile.id.desc()).limit(limit)
        if after is not None:
            # A row comparison, so the (created_at, id) index serves it as one range scan.
            query = query.where(
                tuple_(Profile.created_at, Profile.id) < tuple_(after.created_at, after.id)
            )
        return (await self._session.scalars(query)).all()

    async def record(self, *, event: DomainEvent) -> None:
        """Write `event` to the outbox in this transaction; it leaves only if the transaction commits."""
        await record_event(self._session, EVENT_TABLES.outbox, event, producer=PRODUCER)


class KnownFileRepository(KnownFiles):
    """The read model of which user owns which file, in the users database."""

    def __init__(self, *, session: AsyncSession) -> None:
        super().__init__(session=session, table=KNOWN_FILES)
