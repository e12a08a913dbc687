"""Event handlers of the todos service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from shared.ownership import file_event_handlers
from todos_service.components import Components
from todos_service.service import ForeignEventsService


def build_handlers(_components: Components) -> dict[type[DomainEvent], Handler]:
    """The handler of each event todos consumes (they need nothing from the components)."""

    async def on_user_deleted(
        session: AsyncSession, event: UserDeleted, _envelope: Envelope
    ) -> None:
        """Everything of the user goes."""
        await ForeignEventsService(session=session).user_deleted(user_id=event.user_id)

    return {
        # The owner may attach a new file; a deleted one leaves every todo, never to come back.
        **file_event_handlers(lambda session: ForeignEventsService(session=session)),
        UserDeleted: on_user_deleted,
    }
