"""`user.registered` from the broker becomes one profile, however often it is delivered."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from sqlalchemy import select

from shared.contracts import UserRegistered
from shared.events import DomainEvent, Envelope
from shared.messaging.consumer import Handler
from shared.testing import consuming, eventually
from users_service.models import EVENT_TABLES, Profile
from users_service.settings import Settings


async def test_registrations_from_the_broker_create_one_profile(
    users_settings_for: Callable[[str], Settings],
    run_id: str,
    handlers: dict[type[DomainEvent], Handler],
) -> None:
    user_id = uuid.uuid4()
    first = Envelope.wrap(
        UserRegistered(user_id=user_id, email="ann@example.com", username="ann"),
        producer="auth",
    )
    again = Envelope.wrap(
        UserRegistered(user_id=user_id, email="other@example.com", username="other"),
        producer="auth",
    )
    # A database of this test's own: the consumer commits for real.
    settings = users_settings_for("users_consumer")
    async with consuming(
        settings, tag=run_id, inbox=EVENT_TABLES.inbox, handlers=handlers
    ) as consumer:
        # The same envelope twice (a redelivery), then, once applied, another for the same user.
        await consumer.publish(first)
        await consumer.publish(first)
        await eventually(lambda: consumer.handled(1))
        await consumer.publish(again)
        await eventually(lambda: consumer.handled(2))
        async with consumer.sessions() as session:
            profiles = (await session.scalars(select(Profile))).all()

    assert [(p.id, p.email, p.username) for p in profiles] == [(user_id, "ann@example.com", "ann")]
    assert (profiles[0].display_name, profiles[0].bio, profiles[0].avatar_file_id) == (None,) * 3
