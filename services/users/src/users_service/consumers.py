"""Event handlers of the users service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from shared.contracts import UserEmailVerified, UserRegistered
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from shared.ownership import file_event_handlers
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

    async def on_email_verified(
        session: AsyncSession, event: UserEmailVerified, _envelope: Envelope
    ) -> None:
        """The profile shows that its email is verified."""
        await ForeignEventsService(session=session).email_verified(
            user_id=event.user_id, email=event.email
        )

    return {
        UserRegistered: on_user_registered,
        UserEmailVerified: on_email_verified,
        # The owner may make a new file their avatar; a deleted one stops being one for good.
        **file_event_handlers(lambda session: ForeignEventsService(session=session)),
    }
