"""The rules of user profiles; one commit per use case, and no web framework."""

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.contracts import UserDeleted, UserProfileUpdated
from shared.pagination import CursorCodec, Page, Position, paginate
from users_service.errors import InvalidAvatar, ProfileNotFound
from users_service.models import Profile
from users_service.repository import KnownFileRepository, ProfileReads, ProfileRepository
from users_service.schemas import ProfileRead, ProfileUpdate


class ProfileQueries:
    """Reads profiles: each read is one statement, outside any transaction."""

    def __init__(self, *, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._profiles = ProfileReads(sessions=sessions)

    async def get_profile(self, *, user_id: uuid.UUID) -> ProfileRead:
        """The profile of `user_id`, or ProfileNotFound."""
        profile = await self._profiles.get(user_id=user_id)
        if profile is None:
            raise ProfileNotFound()
        return profile


class ProfileService:
    """Creates, edits, lists and deletes profiles; events leave through the outbox."""

    def __init__(self, *, session: AsyncSession, cursors: CursorCodec) -> None:
        self._session = session
        self._cursors = cursors
        self._profiles = ProfileRepository(session=session)
        self._files = KnownFileRepository(session=session)

    async def update_profile(self, *, user_id: uuid.UUID, update: ProfileUpdate) -> Profile:
        """Only the fields sent change; a real change commits with its `user.profile_updated`.
        An avatar must be a live file of the user's own."""
        sent = {name: getattr(update, name) for name in update.model_fields_set}
        avatar = update.avatar_file_id
        # The file before the profile, the order `file.deleted` takes its locks in; held FOR
        # SHARE until commit, so the file cannot be deleted in between unnoticed.
        usable = avatar is None or await self._files.lock_usable(
            owner_id=user_id, file_ids=[avatar]
        )
        profile = await self._profiles.get(user_id=user_id, for_update=True)
        if profile is None:
            raise ProfileNotFound()
        if avatar is not None and not usable:
            raise InvalidAvatar(avatar)
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
        await self._files.delete_owned_by(owner_id=user_id)
        await self._profiles.record(event=UserDeleted(user_id=user_id))
        await self._session.commit()

    async def list_profiles(self, *, limit: int, cursor: str | None) -> Page[Profile]:
        """Newest first by (created_at, id); a cursor names the last row seen, so pages never overlap."""

        async def fetch(after: Position | None, count: int) -> Sequence[Profile]:
            return await self._profiles.list_newest_first(after=after, limit=count)

        return await paginate(fetch, cursors=self._cursors, cursor=cursor, limit=limit)


class ProfileNotYetCreated(Exception):
    """An event about a profile arrived before `user.registered`: the consumer retries it."""


class ForeignEventsService:
    """Applies other services' events to profiles.

    Runs in the consumer's transaction (committed together with its inbox row): never commits.
    """

    def __init__(self, *, session: AsyncSession) -> None:
        self._profiles = ProfileRepository(session=session)
        self._files = KnownFileRepository(session=session)

    async def user_registered(self, *, user_id: uuid.UUID, email: str, username: str) -> None:
        """A registered account gets one profile; an existing one is left alone."""
        await self._profiles.insert_if_absent(user_id=user_id, email=email, username=username)

    async def email_verified(self, *, user_id: uuid.UUID, email: str) -> None:
        """The profile shows the address verified; before its profile exists, retry later."""
        if not await self._profiles.mark_email_verified(user_id=user_id, email=email):
            raise ProfileNotYetCreated(f"no profile {user_id} yet: user.registered comes first")

    async def file_uploaded(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        """The owner may make the new file their avatar, unless a tombstone says it is gone."""
        await self._files.add(file_id=file_id, owner_id=owner_id)

    async def file_deleted(self, *, file_id: uuid.UUID, owner_id: uuid.UUID) -> None:
        """A deleted file is tombstoned and stops being anyone's avatar, each with its
        `user.profile_updated`."""
        await self._files.bury(file_id=file_id, owner_id=owner_id)
        for profile in await self._profiles.clear_avatar(file_id=file_id):
            await self._profiles.record(
                event=UserProfileUpdated(
                    user_id=profile.id,
                    display_name=profile.display_name,
                    avatar_file_id=profile.avatar_file_id,
                )
            )
