"""File and user events from the broker reach the handlers once each, and in any order."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select

from shared.contracts import FileDeleted, FileUploaded, UserDeleted
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from shared.testing import consuming, eventually
from todos_service.models import EVENT_TABLES, KnownFile
from todos_service.settings import Settings

Uploaded = Callable[[uuid.UUID, uuid.UUID], FileUploaded]


async def test_events_from_the_broker_keep_the_file_read_model(
    todos_settings_for: Callable[[str], Settings],
    run_id: str,
    uploaded: Uploaded,
    handlers: dict[type[DomainEvent], Handler],
) -> None:
    owner, gone_user = uuid.uuid4(), uuid.uuid4()
    live, late, purged = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    # A database of this test's own: the consumer commits for real.
    settings = todos_settings_for("todos_broker")
    async with consuming(
        settings, tag=run_id, inbox=EVENT_TABLES.inbox, handlers=handlers
    ) as consumer:

        async def publish(event: DomainEvent) -> None:
            await consumer.publish(Envelope.wrap(event, producer="files"))

        await publish(uploaded(live, owner))
        await publish(FileDeleted(file_id=late, owner_id=owner))  # before its upload
        await publish(uploaded(purged, gone_user))
        await eventually(lambda: consumer.handled(3))
        await publish(uploaded(late, owner))
        await publish(UserDeleted(user_id=gone_user))
        await eventually(lambda: consumer.handled(5))
        async with consumer.sessions() as session:
            known = await session.scalars(select(KnownFile))
            files = {row.id: row.deleted_at is None for row in known}

    assert files == {live: True, late: False}
