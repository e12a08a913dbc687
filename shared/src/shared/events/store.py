"""The transactional outbox and the idempotency inbox, as tables in each service's own database."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from sqlalchemy import (
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    func,
    insert,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB, UUID
from sqlalchemy.ext.asyncio import AsyncSession

from shared.events.envelope import DomainEvent, Envelope
from shared.telemetry import current_trace_headers

# NOTIFY inside a transaction is delivered at commit and dropped on rollback: exactly the wake-up
# the relay needs, with no publish on the request path.
OUTBOX_CHANNEL = "outbox"


class EventTables(NamedTuple):
    outbox: Table
    inbox: Table


def define_event_tables(metadata: MetaData) -> EventTables:
    """Add `outbox_message` and `inbox_message` to a service's own metadata."""
    outbox = Table(
        "outbox_message",
        metadata,
        Column("id", UUID(as_uuid=True), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("envelope", JSONB, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True)),
        Column("attempts", Integer, nullable=False, server_default=text("0")),
        Column(
            "next_attempt_at", DateTime(timezone=True), nullable=False, server_default=func.now()
        ),
        Column("last_error", Text),
        # The relay scans only what is pending; sent rows never slow it down.
        Index(
            "ix_outbox_message_pending",
            "next_attempt_at",
            postgresql_where=text("published_at IS NULL"),
        ),
        # The retention sweep finds sent rows past their time without scanning the table.
        Index(
            "ix_outbox_message_published",
            "published_at",
            postgresql_where=text("published_at IS NOT NULL"),
        ),
    )
    inbox = Table(
        "inbox_message",
        metadata,
        Column("event_id", UUID(as_uuid=True), primary_key=True),
        Column("type", String(200), nullable=False),
        Column("handled_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Index("ix_inbox_message_handled_at", "handled_at"),
    )
    return EventTables(outbox, inbox)


async def record_event(
    session: AsyncSession,
    outbox: Table,
    event: DomainEvent,
    *,
    producer: str,
    headers: Mapping[str, str] | None = None,
) -> Envelope:
    """Write the event in the caller's transaction; it leaves only if that transaction commits."""
    envelope = Envelope.wrap(event, producer=producer)
    await session.execute(
        insert(outbox).values(
            id=envelope.id,
            type=envelope.type,
            envelope=envelope.model_dump(mode="json"),
            # The trace context travels with the event: the consumer's span continues this trace.
            headers={**current_trace_headers(), **(headers or {})},
        )
    )
    await session.execute(text(f"NOTIFY {OUTBOX_CHANNEL}"))
    return envelope
