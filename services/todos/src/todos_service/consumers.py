"""Event handlers of the todos service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import FileDeleted, FileUploaded, UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from todos_service.components import Components
from todos_service.service import ForeignEventsService


def build_handlers(_components: Components) -> dict[type[DomainEvent], Handler]:
    """The handler of each event todos consumes (they need nothing from the components)."""

    async def on_file_uploaded(
        session: AsyncSession, event: FileUploaded, _envelope: Envelope
    ) -> None:
        """The owner may attach the new file."""
        await ForeignEventsService(session=session).file_uploaded(
            file_id=event.file_id, owner_id=event.owner_id
        )

    async def on_file_deleted(
        session: AsyncSession, event: FileDeleted, _envelope: Envelope
    ) -> None:
        """The file leaves every todo and can never be attached again."""
        await ForeignEventsService(session=session).file_deleted(
            file_id=event.file_id, owner_id=event.owner_id
        )

    async def on_user_deleted(
        session: AsyncSession, event: UserDeleted, _envelope: Envelope
    ) -> None:
        """Everything of the user goes."""
        await ForeignEventsService(session=session).user_deleted(user_id=event.user_id)

    return {
        FileUploaded: on_file_uploaded,
        FileDeleted: on_file_deleted,
        UserDeleted: on_user_deleted,
    }
