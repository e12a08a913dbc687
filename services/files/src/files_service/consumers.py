"""Event handlers of the files service: each calls the service layer, nothing else.

A handler runs inside the consumer's transaction (with the inbox row) and never commits itself.
"""

from collections.abc import Callable

from sqlalchemy.ext.asyncio import AsyncSession

from files_service.service import FileService, UploadLimits
from files_service.storage import Storage
from shared.contracts import UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler


def build_handlers(
    *, storage: Callable[[], Storage], limits: UploadLimits
) -> dict[type[DomainEvent], Handler]:
    """The events files consumes; `storage` gives the process's backend once it has started."""

    async def on_user_deleted(
        session: AsyncSession, event: UserDeleted, _envelope: Envelope
    ) -> None:
        """A deleted user's files all go, blobs included."""
        service = FileService(session=session, storage=storage(), limits=limits)
        await service.purge_owner(owner_id=event.user_id)

    return {UserDeleted: on_user_deleted}
