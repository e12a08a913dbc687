"""The rules of user profiles; one commit per use case, and no web framework."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import UserDeleted, UserProfileUpdated
from shared.pagination import CursorCodec, Page, Position, paginate
from users_service.errors import ProfileNotFound
from users_service.models import Profile
from users_service.repository import ProfileRepository
from users_service.schemas import ProfileUpdate


class ProfileService:
    """Creates, reads, edits and deletes profiles; events leave through the outbox."""

    def __init__(self, *, session: AsyncSession, cursors: CursorCodec) -> None:
        self._session = session
        self._cursors = cursors
        self._profiles = ProfileRepository(session=session)

    async def get_profile(self, *, user_id: uuid.UUID) -> Profile:
        """The profile of `user_id`, or ProfileNotFound."""
        profile = await self._profiles.get(user_id=user_id)
        if profile is None:
            raise ProfileNotFound()
        return profile

    async def update_profile(self, *, user_id: uuid.UUID, update: ProfileUpdate) -> Profile:
        """Only the fields sent change; a real change commits with its `user.profile_updated`."""
        profile = await self._profiles.get(user_id=user_id, for_update=True)
        if profile is None:
            raise ProfileNotFound()
        sent = {name: getattr(update, name) for name in update.model_fields_set}
        changed = {name: value for name, value in sent.items() if getattr(profile, name) != value}
        if not changed:
            # Nothing happened, so no event; committing only releases the row lock.
            await self._session.commit()
            return profile
        profile = await self._profiles.update(user_id=user_id, values=changed)
        await self._profiles.record(
            event=UserProfileUpdated(
                user_id=profile.id,
                display_name=profile.display_name,
                avatar_file_id=profile.avatar_file_id,
            )
        )
        await self._session.commit()
        return profile

    async def delete_profile(self, *, user_id: uuid.UUID) -> None:
        """A profile is deleted once, together with its `user.deleted`; a second delete is not found."""
        if not await self._profiles.delete(user_id=user_id):
            raise ProfileNotFound()
        await self._profiles.record(event=UserDeleted(user_id=user_id))
        await self._session.commit()

    async def list_profiles(self, *, limit: int, cursor: str | None) -> Page[Profile]:
        """Newest first by (created_at, id); a cursor names the last row seen, so pages never overlap."""

        async def fetch(after: Position | None, count: int) -> Sequence[Profile]:
            return await self._profiles.list_newest_first(after=after, limit=count)

        return await paginate(fetch, cursors=self._cursors, cursor=cursor, limit=limit)


class ForeignEventsService:
    """Applies other services' events to profiles.

    Runs in the consumer's transaction (committed together with its inbox row): never commits.
    """

    def __init__(self, *, session: AsyncSession) -> None:
        self._profiles = ProfileRepository(session=session)

    async def user_registered(self, *, user_id: uuid.UUID, email: str, username: str) -> None:
        """A registered account gets one profile; an existing one is left alone."""
        await self._profiles.insert_if_absent(user_id=user_id, email=email, username=username)
