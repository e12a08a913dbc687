"""Event handlers of the files service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from files_service.components import Components
from files_service.service import ForeignEventsService
from shared.contracts import UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler


def build_handlers(components: Components) -> dict[type[DomainEvent], Handler]:
    """The handler of each event files consumes; blobs go through the process's storage."""

    async def on_user_deleted(
        session: AsyncSession, event: UserDeleted, _envelope: Envelope
    ) -> None:
        """A deleted user's files all go, blobs included."""
        service = ForeignEventsService(session=session, storage=components.storage)
        await service.user_deleted(user_id=event.user_id)

    return {UserDeleted: on_user_deleted}
