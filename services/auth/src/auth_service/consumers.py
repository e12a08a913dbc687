"""Event handlers of the auth service: each calls the service layer, nothing else."""

from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.service import delete_account
from auth_service.settings import Settings
from shared.contracts import UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler


def build_handlers(settings: Settings) -> dict[type[DomainEvent], Handler]:
    """The events auth consumes, with what their handlers need from settings."""
    horizon = timedelta(seconds=settings.access_token_ttl_seconds + settings.jwt_leeway_seconds)

    async def on_user_deleted(db: AsyncSession, event: UserDeleted, _envelope: Envelope) -> None:
        """The account is gone: revoke every session and delete the credentials."""
        await delete_account(db, user_id=event.user_id, horizon=horizon)

    return {UserDeleted: on_user_deleted}
