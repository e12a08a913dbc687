"""Event handlers of the users service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import FileDeleted, FileUploaded, UserRegistered
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from users_service.components import Components
from users_service.service import ForeignEventsService


def build_handlers(_components: Components) -> dict[type[DomainEvent], Handler]:
    """The handler of each event users consumes (they need nothing from the components)."""

    async def on_user_registered(
        session: AsyncSession, event: UserRegistered, _envelope: Envelope
    ) -> None:
        """A new account gets its profile."""
        await ForeignEventsService(session=session).user_registered(
            user_id=event.user_id, email=event.email, username=event.username
        )

    async def on_file_uploaded(
        session: AsyncSession, event: FileUploaded, _envelope: Envelope
    ) -> None:
        """The owner may make the new file their avatar."""
        await ForeignEventsService(session=session).file_uploaded(
            file_id=event.file_id, owner_id=event.owner_id
        )

    async def on_file_deleted(
        session: AsyncSession, event: FileDeleted, _envelope: Envelope
    ) -> None:
        """The file stops being an avatar and can never become one again."""
        await ForeignEventsService(session=session).file_deleted(
            file_id=event.file_id, owner_id=event.owner_id
        )

    return {
        UserRegistered: on_user_registered,
        FileUploaded: on_file_uploaded,
        FileDeleted: on_file_deleted,
    }
