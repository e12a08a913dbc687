"""Outbox, relay and idempotent consumer against a real PostgreSQL and RabbitMQ."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

import aio_pika
import pytest
from prometheus_client import REGISTRY
from sqlalchemy import Column, Integer, String, Table, func, insert, select, text, update
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from shared.db import make_metadata
from shared.events import DomainEvent, Envelope, define_event_tables, record_event
from shared.messaging import dead_letters as dlq
from shared.messaging.broker import Broker
from shared.messaging.consumer import EventConsumer
from shared.messaging.relay import OutboxRelay
from shared.messaging.topology import Topology, declare_consumer_queue
from shared.testing import asyncpg_url, eventually, never

metadata = make_metadata()
widget = Table("widget", metadata, Column("id", Integer, primary_key=True), Column("name", String))
effect = Table(
    "effect",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("event_id", UUID(as_uuid=True), nullable=False),
)
tables = define_event_tables(metadata)


class WidgetCreated(DomainEvent):
    type = "widget.created"
    name: str


@pytest.fixture(scope="module")
async def db(database_factory: Callable[[str], str]) -> AsyncIterator[dict[str, Any]]:
    url = database_factory("events")
    engine = create_async_engine(asyncpg_url(url))
    async with engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield {"sessions": async_sessionmaker(engine, expire_on_commit=False), "dsn": url}
    await engine.dispose()


def relay_for(db: dict[str, Any], broker: Broker, topology: Topology, **kwargs: Any) -> OutboxRelay:
    return OutboxRelay(
        session_factory=db["sessions"],
        outbox=tables.outbox,
        broker=broker,
        exchange=topology.exchange,
        publish_timeout=2.0,
        **{"listen_dsn": db["dsn"], "poll_seconds": 0.2, **kwargs},
    )


async def write_widget(db: dict[str, Any], name: str, *, commit: bool = True) -> Envelope:
    sessions: async_sessionmaker[AsyncSession] = db["sessions"]
    async with sessions() as session:
        await session.execute(insert(widget).values(name=name))
        envelope = await record_event(
            session, tables.outbox, WidgetCreated(name=name), producer="test"
        )
        if commit:
            await session.commit()
        else:
            await session.rollback()
    return envelope


class Collector:
    """A plain queue bound to the exchange, recording every delivery (duplicates included)."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        self.bodies.append(json.loads(message.body))
        await message.ack()

    @property
    def ids(self) -> list[str]:
        return [body["id"] for body in self.bodies]


@pytest.fixture
async def collector(broker: Broker, topology: Topology) -> Collector:
    collector = Collector()
    channel = await (await broker.connection()).channel()
    queue = await declare_consumer_queue(channel, topology, ["widget.#"])
    await queue.consume(collector.on_message)
    return collector


async def pending(db: dict[str, Any]) -> int:
    async with db["sessions"]() as session:
        query = select(func.count()).where(tables.outbox.c.published_at.is_(None))
        return int((await session.execute(query)).scalar_one())


async def published(db: dict[str, Any], envelopes: Sequence[Envelope]) -> int:
    """How many of `envelopes` the relay has marked as sent."""
    async with db["sessions"]() as session:
        query = select(func.count()).where(
            tables.outbox.c.id.in_([e.id for e in envelopes]),
            tables.outbox.c.published_at.is_not(None),
        )
        return int((await session.execute(query)).scalar_one())


async def test_rolled_back_transaction_publishes_nothing(
    db: dict[str, Any], broker: Broker, topology: Topology, collector: Collector
) -> None:
    ghost = await write_widget(db, "ghost", commit=False)
    relay = relay_for(db, broker, topology)
    assert await relay.publish_pending() == 0
    # The queue keeps order: once an event committed later has arrived, the ghost would have too.
    later = await write_widget(db, "after-the-ghost")
    await relay.publish_pending()
    await eventually(lambda: str(later.id) in collector.ids)
    assert str(ghost.id) not in collector.ids


async def test_committed_event_survives_a_crash_before_publishing(
    db: dict[str, Any], broker: Broker, topology: Topology, collector: Collector
) -> None:
    # The writer committed and no relay ran (it crashed); a relay started later still sends it.
    envelope = await write_widget(db, "durable")
    relay = relay_for(db, broker, topology)
    await eventually(lambda: relay.publish_pending())
    await eventually(lambda: str(envelope.id) in collector.ids)
    body = collector.bodies[collector.ids.index(str(envelope.id))]
    assert body["type"] == "widget.created" and body["version"] == 1
    assert body["producer"] == "test" and body["data"] == {"name": "durable"}


async def test_message_carries_amqp_properties(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    channel = await (await broker.connection()).channel()
    queue = await declare_consumer_queue(channel, topology, ["widget.created"])
    envelope = await write_widget(db, "props")
    await relay_for(db, broker, topology).publish_pending()
    message = await queue.get(timeout=5)
    await message.ack()
    assert message.message_id == str(envelope.id)
    assert message.type == "widget.created"
    assert message.delivery_mode == aio_pika.DeliveryMode.PERSISTENT
    assert message.content_type == "application/json"


async def test_crash_between_publish_and_mark_sent_has_one_effect(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    class CrashAfterPublish(OutboxRelay):
        async def _publish(self, *args: Any) -> None:
            await super()._publish(*args)
            raise ConnectionError("crashed before marking the row as sent")

    async def handle(session: AsyncSession, _event: Any, envelope: Envelope) -> None:
        await session.execute(insert(effect).values(event_id=envelope.id))

    consumer = consumer_for(db, broker, topology, handle)
    task = await start(consumer)
    try:
        envelope = await write_widget(db, "twice")
        assert await CrashAfterPublish(**relay_kwargs(db, broker, topology)).publish_pending() == 0
        assert await pending(db) == 1
        # The row is still pending, so the next (healthy) relay publishes it again.
        await eventually(lambda: relay_until_sent(db, broker, topology))
        await eventually(lambda: consumer.finished.count(str(envelope.id)) >= 2)
    finally:
        task.cancel()
    async with db["sessions"]() as session:
        count = select(func.count()).where(effect.c.event_id == envelope.id)
        assert (await session.execute(count)).scalar_one() == 1


def relay_kwargs(db: dict[str, Any], broker: Broker, topology: Topology) -> dict[str, Any]:
    return {
        "session_factory": db["sessions"],
        "outbox": tables.outbox,
        "broker": broker,
        "exchange": topology.exchange,
        "listen_dsn": db["dsn"],
        "publish_timeout": 2.0,
    }


async def relay_until_sent(db: dict[str, Any], broker: Broker, topology: Topology) -> bool:
    # Backoff after a failure is real: move the due time forward instead of waiting it out.
    async with db["sessions"]() as session, session.begin():
        await session.execute(
            update(tables.outbox)
            .where(tables.outbox.c.published_at.is_(None))
            .values(next_attempt_at=func.now())
        )
    await relay_for(db, broker, topology).publish_pending()
    return await pending(db) == 0


class WatchedConsumer(EventConsumer):
    """Notes each delivery it is done with, whatever the outcome (applied, duplicate, requeued)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.finished: list[str | None] = []

    async def on_message(self, message: aio_pika.abc.AbstractIncomingMessage) -> None:
        await super().on_message(message)
        self.finished.append(message.message_id)


def consumer_for(
    db: dict[str, Any],
    broker: Broker,
    topology: Topology,
    handler: Callable[[AsyncSession, Any, Envelope], Awaitable[None]],
    **kwargs: Any,
) -> WatchedConsumer:
    return WatchedConsumer(
        session_factory=db["sessions"],
        inbox=tables.inbox,
        broker=broker,
        topology=topology,
        handlers={WidgetCreated: handler},
        prefetch=8,
        **{"retry_base_seconds": 0.05, "retry_max_seconds": 0.2, **kwargs},
    )


async def start(consumer: EventConsumer) -> asyncio.Task[None]:
    task = asyncio.create_task(consumer.run())
    await asyncio.wait_for(consumer.consuming.wait(), timeout=10)
    return task


async def publish_raw(
    broker: Broker, topology: Topology, body: bytes, key: str, *, message_id: str | None = None
) -> None:
    channel = await (await broker.connection()).channel()
    exchange = await channel.get_exchange(topology.exchange)
    message = aio_pika.Message(body=body, type=key, message_id=message_id)
    await exchange.publish(message, routing_key=key)


async def dead_letters(broker: Broker, topology: Topology, *, at_least: int = 0) -> list[bytes]:
    """Drain the dead-letter queue, waiting (bounded) until `at_least` messages have come."""
    channel = await (await broker.connection()).channel()
    queue = await channel.declare_queue(
        topology.dead_letter_queue, durable=True, arguments={"x-queue-type": "quorum"}
    )
    bodies: list[bytes] = []

    async def drained_enough() -> bool:
        while (message := await queue.get(fail=False, timeout=5)) is not None:
            bodies.append(message.body)
            await message.ack()
        return len(bodies) >= at_least

    await eventually(drained_enough, message=f"fewer than {at_least} dead-lettered")
    return bodies


def sample(name: str, **labels: str) -> float:
    """The process's current value of a metric sample (0 when it was never set)."""
    return REGISTRY.get_sample_value(name, labels) or 0.0


def consumed(outcome: str) -> float:
    return sample("events_consumed_total", type="widget.created", outcome=outcome)


def dead_lettered(reason: str) -> float:
    return sample("events_dead_lettered_total", type="widget.created", reason=reason)


async def test_same_event_delivered_twice_is_applied_once(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    calls: list[uuid.UUID] = []

    async def handle(session: AsyncSession, _event: Any, envelope: Envelope) -> None:
        await session.execute(insert(effect).values(event_id=envelope.id))
        calls.append(envelope.id)

    consumer = consumer_for(db, broker, topology, handle)
    task = await start(consumer)
    try:
        envelope = Envelope.wrap(WidgetCreated(name="dup"), producer="test")
        body = envelope.model_dump_json().encode()
        for _ in range(2):
            await publish_raw(broker, topology, body, "widget.created", message_id=str(envelope.id))
        await eventually(lambda: consumer.finished.count(str(envelope.id)) >= 2)
    finally:
        task.cancel()
    assert calls.count(envelope.id) == 1
    async with db["sessions"]() as session:
        count = select(func.count()).where(effect.c.event_id == envelope.id)
        assert (await session.execute(count)).scalar_one() == 1


async def test_poison_messages_are_dead_lettered_and_consumption_goes_on(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    handled: list[str] = []

    async def handle(_session: AsyncSession, event: Any, _envelope: Envelope) -> None:
        handled.append(event.name)

    rejected_before = dead_lettered("rejected")
    task = await start(consumer_for(db, broker, topology, handle))
    try:
        future = Envelope.wrap(WidgetCreated(name="future"), producer="test").model_copy(
            update={"version": 99}
        )
        bad_data = Envelope(type="widget.created", version=1, producer="t", data={"nom": 1})
        for body in (
            b"{not json",
            future.model_dump_json().encode(),
            bad_data.model_dump_json().encode(),
        ):
            await publish_raw(broker, topology, body, "widget.created")
        good = Envelope.wrap(WidgetCreated(name="after-poison"), producer="test")
        await publish_raw(broker, topology, good.model_dump_json().encode(), "widget.created")
        await eventually(lambda: "after-poison" in handled)
    finally:
        task.cancel()
    dead = await dead_letters(broker, topology, at_least=3)
    assert len(dead) == 3
    assert b"{not json" in dead
    assert dead_lettered("rejected") - rejected_before == 3


async def test_the_dead_letter_queue_depth_is_exported_while_consuming(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    async def handle(_session: AsyncSession, _event: Any, _envelope: Envelope) -> None:
        return None

    def depth() -> float | None:
        return REGISTRY.get_sample_value(
            "events_dead_letter_queue_depth", {"queue": topology.dead_letter_queue}
        )

    task = await start(consumer_for(db, broker, topology, handle, depth_seconds=0.1))
    try:
        # Before any dead letter the gauge is there, at 0: a dashboard panel has data to show.
        await eventually(lambda: depth() == 0.0, message=f"depth {depth()}, not 0")
        for body in (b"{not json", b"[]"):
            await publish_raw(broker, topology, body, "widget.created")
        await eventually(lambda: depth() == 2.0, message=f"depth {depth()}, not 2")
        assert len(await dlq.drop(broker, topology, dlq.Selection())) == 2
        await eventually(lambda: depth() == 0.0, message=f"depth {depth()} after the drop")
    finally:
        task.cancel()


WATCHED_COUNTS = {
    "retried": lambda: consumed("retried"),
    "dead_lettered": lambda: consumed("dead_lettered"),
    "at_the_limit": lambda: dead_lettered("delivery_limit"),
    "rejected": lambda: dead_lettered("rejected"),
}


async def test_failing_handler_is_retried_with_growing_pauses_then_dead_lettered(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    attempts: list[float] = []

    async def always_fails(_session: AsyncSession, _event: Any, _envelope: Envelope) -> None:
        attempts.append(time.monotonic())
        raise RuntimeError("database is down")

    base, cap = 0.3, 0.6
    consumer = consumer_for(
        db, broker, topology, always_fails, retry_base_seconds=base, retry_max_seconds=cap
    )
    before = {name: count() for name, count in WATCHED_COUNTS.items()}
    task = await start(consumer)
    try:
        doomed = Envelope.wrap(WidgetCreated(name="doomed"), producer="test")
        await publish_raw(broker, topology, doomed.model_dump_json().encode(), "widget.created")
        # Dead-lettering follows the last attempt the limit allows: an extra one would be in by then.
        dead = await dead_letters(broker, topology, at_least=1)
    finally:
        task.cancel()
    assert [json.loads(body)["id"] for body in dead] == [str(doomed.id)]
    # delivery_limit=2: the first delivery plus two redeliveries.
    assert len(attempts) == 3
    # Two failures were retried; the third went to the dead-letter queue, and is counted so.
    counted = {name: count() - before[name] for name, count in WATCHED_COUNTS.items()}
    assert counted == {"retried": 2, "dead_lettered": 1, "at_the_limit": 1, "rejected": 0}
    # A failure holds the message base * 2**attempt s (at most cap) before requeueing it. Load only
    # lengthens a gap, so each is at least its pause; and the pause doubles, so the second gap is
    # well over the first (1.25 times, not 2: room for a first redelivery slower than the second).
    gaps = [b - a for a, b in itertools.pairwise(attempts)]
    pauses = [min(base * 2**attempt, cap) for attempt in range(len(gaps))]
    assert all(gap >= pause for gap, pause in zip(gaps, pauses, strict=True)), (gaps, pauses)
    assert gaps[1] >= 1.25 * gaps[0], gaps


async def test_a_dead_letter_replayed_after_the_fix_is_applied_exactly_once(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    fixed = False
    applied: list[uuid.UUID] = []

    async def buggy_until_fixed(session: AsyncSession, _event: Any, envelope: Envelope) -> None:
        if not fixed:
            raise RuntimeError("a bug in the handler")
        await session.execute(insert(effect).values(event_id=envelope.id))
        applied.append(envelope.id)

    consumer = consumer_for(db, broker, topology, buggy_until_fixed)
    task = await start(consumer)
    try:
        event = Envelope.wrap(WidgetCreated(name="poisoned"), producer="test")
        body = event.model_dump_json().encode()
        await publish_raw(broker, topology, body, "widget.created", message_id=str(event.id))

        async def dead_lettered() -> bool:
            found = await dlq.list_dead_letters(broker, topology, limit=10)
            return [letter.message_id for letter in found] == [str(event.id)]

        await eventually(dead_lettered, message="the event at the delivery limit, dead-lettered")
        [letter] = await dlq.list_dead_letters(broker, topology, limit=10)
        assert letter.reason == "delivery_limit" and letter.type == "widget.created"
        fixed = True  # the code change, deployed
        chosen = dlq.Selection(type="widget.created")
        assert await dlq.replay(broker, topology, chosen) == [str(event.id)]
        await eventually(lambda: applied == [event.id], message="the replayed event applied")
        # A second replay finds nothing, and a redelivery of the same event changes nothing.
        assert await dlq.replay(broker, topology, chosen) == []
        seen = consumer.finished.count(str(event.id))
        await publish_raw(broker, topology, body, "widget.created", message_id=str(event.id))
        await eventually(lambda: consumer.finished.count(str(event.id)) > seen)
    finally:
        task.cancel()
    assert applied == [event.id]
    async with db["sessions"]() as session:
        count = select(func.count()).where(effect.c.event_id == event.id)
        assert (await session.execute(count)).scalar_one() == 1


async def test_transient_handler_failure_recovers_without_dead_lettering(
    db: dict[str, Any], broker: Broker, topology: Topology
) -> None:
    outcomes: list[str] = []

    async def flaky(session: AsyncSession, _event: Any, envelope: Envelope) -> None:
        await session.execute(insert(effect).values(event_id=envelope.id))
        if not outcomes:
            outcomes.append("failed")
            raise ConnectionError("blip")
        outcomes.append("applied")

    task = await start(consumer_for(db, broker, topology, flaky))
    try:
        envelope = Envelope.wrap(WidgetCreated(name="flaky"), producer="test")
        await publish_raw(broker, topology, envelope.model_dump_json().encode(), "widget.created")
        await eventually(lambda: "applied" in outcomes)
    finally:
        task.cancel()
    assert outcomes == ["failed", "applied"]
    assert await dead_letters(broker, topology) == []
    async with db["sessions"]() as session:
        # The failed attempt's write was rolled back with its inbox row.
        count = select(func.count()).where(effect.c.event_id == envelope.id)
        assert (await session.execute(count)).scalar_one() == 1


async def test_two_relays_publish_each_event_once(
    db: dict[str, Any], broker: Broker, topology: Topology, collector: Collector
) -> None:
    envelopes = [await write_widget(db, f"bulk-{i}") for i in range(150)]
    relays = [relay_for(db, broker, topology, batch_size=20) for _ in range(2)]

    async def drain(relay: OutboxRelay) -> None:
        while await relay.publish_pending():
            pass

    await asyncio.gather(*(drain(relay) for relay in relays))
    # Every publish, a duplicate included, is confirmed and so queued by now: once an event sent
    # after them has arrived, all of them have.
    later = await write_widget(db, "after-the-bulk")
    await relays[0].publish_pending()
    await eventually(lambda: str(later.id) in collector.ids)
    expected = {str(e.id) for e in envelopes}
    assert expected <= set(collector.ids)
    mine = [i for i in collector.ids if i in expected]
    assert len(mine) == len(expected)  # none twice


async def listening(db: dict[str, Any], application_name: str) -> bool:
    """Whether the connection named `application_name` has run LISTEN (its latest statement)."""
    async with db["sessions"]() as session:
        query = text(
            "SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = :name AND query LIKE 'LISTEN %'"
        )
        return bool((await session.execute(query, {"name": application_name})).scalar_one())


async def test_relay_is_woken_by_commit_not_by_polling(
    db: dict[str, Any], broker: Broker, topology: Topology, collector: Collector
) -> None:
    name = f"relay-{uuid.uuid4().hex[:8]}"
    listen_dsn = f"{db['dsn']}?application_name={name}"
    relay = relay_for(db, broker, topology, poll_seconds=30, listen_dsn=listen_dsn)
    task = asyncio.create_task(relay.run())
    try:
        await eventually(lambda: listening(db, name))
        # Past its start-up passes too: an event written now has come through.
        first = await write_widget(db, "first")
        await eventually(lambda: str(first.id) in collector.ids)
        started = time.monotonic()
        envelope = await write_widget(db, "prompt")
        await eventually(lambda: str(envelope.id) in collector.ids, within=5)
        assert time.monotonic() - started < 5  # far below the 30 s poll
    finally:
        task.cancel()


async def test_events_written_while_the_broker_is_down_all_arrive(
    servers: Any, db: dict[str, Any], topology: Topology
) -> None:
    if servers.local is None:
        pytest.skip("stopping the broker is exercised with local servers")
    broker = Broker(servers.amqp_url, name="outage")
    received: list[uuid.UUID] = []

    async def handle(_session: AsyncSession, _event: Any, envelope: Envelope) -> None:
        received.append(envelope.id)

    consumer = await start(consumer_for(db, broker, topology, handle))
    relay = asyncio.create_task(relay_for(db, broker, topology, poll_seconds=0.5).run())
    try:
        first = await write_widget(db, "before-outage")
        await eventually(lambda: first.id in received)
        await asyncio.to_thread(servers.stop_broker)
        await eventually(lambda: not broker.connected)  # what readiness reports as degraded
        during = [await write_widget(db, f"during-outage-{i}") for i in range(20)]
        # Each commit wakes the relay and it polls every 0.5 s: it tries, and fails, meanwhile.
        await never(
            lambda: published(db, during),
            within=1.0,
            message="an event was marked sent while the broker was down",
        )
        assert await pending(db) >= 20  # kept safe in the outbox
        await asyncio.to_thread(servers.start_broker)
        await eventually(lambda: {e.id for e in during} <= set(received), within=60)
    finally:
        consumer.cancel()
        relay.cancel()
        await broker.close()
    assert len(set(received) & {e.id for e in during}) == 20
