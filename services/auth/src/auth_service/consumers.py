"""Event handlers of the auth service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.components import Components
from auth_service.service import ForeignEventsService, MailDelivery, mail_reset_link
from shared.contracts import MailQueued, PasswordResetRequested, UserDeleted
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

    async def on_mail_queued(session: AsyncSession, event: MailQueued, _envelope: Envelope) -> None:
        """Send the queued message; an SMTP failure raises, and the message is retried."""
        await MailDelivery(session=session, mailer=components.mailer).deliver(mail_id=event.mail_id)

    async def on_reset_requested(
        session: AsyncSession, event: PasswordResetRequested, _envelope: Envelope
    ) -> None:
        """Mail a reset link when the email has an account (the requester is never told)."""
        await mail_reset_link(session=session, links=components.links, email=event.email)

    return {
        UserDeleted: on_user_deleted,
        MailQueued: on_mail_queued,
        PasswordResetRequested: on_reset_requested,
    }
