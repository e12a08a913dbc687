"""Event handlers of the auth service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.components import Components
from auth_service.service import ForeignEventsService
from shared.contracts import UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler


def build_handlers(components: Components) -> dict[type[DomainEvent], Handler]:
    """The handler of each event auth consumes; revocations follow the process's session rules."""

    async def on_user_deleted(
        session: AsyncSession, event: UserDeleted, _envelope: Envelope
    ) -> None:
        """The account is gone: revoke every session and delete the credentials."""
        service = ForeignEventsService(session=session, rules=components.rules)
        await service.user_deleted(user_id=event.user_id)

    return {UserDeleted: on_user_deleted}
