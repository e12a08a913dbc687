"""A process's background work: the outbox relay, the event consumer and the revocation feed."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from shared.events.envelope import DomainEvent
from shared.messaging.consumer import EventConsumer, Handler
from shared.messaging.relay import OutboxRelay
from shared.messaging.retention import EventRetention
from shared.messaging.revocations import RevocationFeed, Snapshot
from shared.messaging.topology import Topology
from shared.runtime import Runtime
from shared.settings import ServiceSettings
from shared.spec import ServiceSpec


def start_revocation_feed(runtime: Runtime, *, snapshot: Snapshot | None) -> None:
    """Keep the process's revoked sessions current: broadcasts, and snapshots from `snapshot`."""
    settings = runtime.settings
    feed = RevocationFeed(
        revocations=runtime.revocations,
        broker=runtime.broker,
        exchange=settings.events_exchange,
        snapshot=snapshot,
        resync_seconds=settings.revocation_resync_seconds,
    )
    runtime.tasks.append(asyncio.create_task(feed.run(), name="revocation-feed"))


def start_event_workers(
    runtime: Runtime, spec: ServiceSpec, handlers: Mapping[type[DomainEvent], Handler]
) -> None:
    """Publish the outbox and, if the service consumes events, apply them through the inbox."""
    if set(handlers) != set(spec.consumes):
        # The queue is bound by `migrate` from the spec: a handler it lacks would never be fed.
        raise ValueError(f"{spec.name}: handlers {set(handlers)} != consumed {set(spec.consumes)}")
    settings = runtime.settings
    relay = OutboxRelay(
        session_factory=runtime.sessions,
        outbox=spec.event_tables.outbox,
        broker=runtime.broker,
        exchange=settings.events_exchange,
        listen_dsn=settings.plain_database_url,
        publish_timeout=settings.publish_timeout_seconds,
        poll_seconds=settings.outbox_poll_seconds,
    )
    runtime.tasks.append(asyncio.create_task(relay.run(), name="outbox-relay"))
    retention = EventRetention(
        session_factory=runtime.sessions,
        outbox=spec.event_tables.outbox,
        inbox=spec.event_tables.inbox,
        outbox_retention_seconds=settings.outbox_retention_seconds,
        inbox_retention_seconds=settings.inbox_retention_seconds,
    )
    runtime.tasks.append(asyncio.create_task(retention.run(), name="event-retention"))
    if handlers:
        consumer = EventConsumer(
            session_factory=runtime.sessions,
            inbox=spec.event_tables.inbox,
            broker=runtime.broker,
            topology=topology(spec, runtime.settings),
            handlers=handlers,
            prefetch=settings.events_prefetch,
        )
        runtime.tasks.append(asyncio.create_task(consumer.run(), name="event-consumer"))


def topology(spec: ServiceSpec, settings: ServiceSettings) -> Topology:
    """The names of the service's queues, as `migrate` declares and the consumer reads them."""
    return Topology(
        exchange=settings.events_exchange,
        service=spec.name,
        delivery_limit=settings.events_delivery_limit,
    )
