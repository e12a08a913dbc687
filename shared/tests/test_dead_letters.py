"""The dead-letter tools against a real broker: list keeps, replay returns, purge drops."""

from __future__ import annotations

import uuid

import aio_pika

from shared.messaging import dead_letters
from shared.messaging.broker import Broker
from shared.messaging.topology import Topology, declare_consumer_queue, declare_exchange
from shared.testing import eventually


async def dead_letter(broker: Broker, topology: Topology, count: int) -> list[str]:
    """`count` messages the consumer would reject, dead-lettered by the broker itself."""
    channel = await (await broker.connection()).channel()
    exchange = await declare_exchange(channel, topology.exchange)
    queue = await declare_consumer_queue(channel, topology, ["widget.created"])
    ids = [str(uuid.uuid4()) for _ in range(count)]
    for number, message_id in enumerate(ids):
        message = aio_pika.Message(
            body=f'{{"n": {number}}}'.encode(), type="widget.created", message_id=message_id
        )
        await exchange.publish(message, routing_key="widget.created")
    for _ in ids:
        got = await queue.get(no_ack=False, timeout=5)
        await got.reject(requeue=False)
    await channel.close()

    async def all_dead() -> bool:
        found = await dead_letters.list_dead_letters(broker, topology, limit=100)
        return len(found) == count

    await eventually(all_dead, within=10, message="the rejected messages in the DLQ")
    return ids


async def test_listing_shows_why_and_keeps_every_dead_letter(
    broker: Broker, topology: Topology
) -> None:
    ids = await dead_letter(broker, topology, 3)
    first = await dead_letters.list_dead_letters(broker, topology, limit=100)
    assert [letter.message_id for letter in first] == ids
    assert {(letter.reason, letter.type) for letter in first} == {("rejected", "widget.created")}
    assert first[0].summary()["body"] == '{"n": 0}' and first[0].first_death_at is not None
    again = await dead_letters.list_dead_letters(broker, topology, limit=100)
    assert [letter.message_id for letter in again] == ids


async def test_replay_sends_one_back_to_the_service_queue_only(
    broker: Broker, topology: Topology
) -> None:
    ids = await dead_letter(broker, topology, 3)
    chosen = dead_letters.Selection(ids=frozenset({ids[1]}))
    assert await dead_letters.replay(broker, topology, chosen) == [ids[1]]
    left = await dead_letters.list_dead_letters(broker, topology, limit=100)
    assert [letter.message_id for letter in left] == [ids[0], ids[2]]
    channel = await (await broker.connection()).channel()
    queue = await declare_consumer_queue(channel, topology, ["widget.created"])
    back = await queue.get(no_ack=False, timeout=5)
    assert (back.message_id, back.body, back.type) == (ids[1], b'{"n": 1}', "widget.created")
    assert "x-death" not in back.headers  # a fresh delivery count for the consumer
    await back.ack()
    await channel.close()


async def test_drop_deletes_what_it_is_told_to(broker: Broker, topology: Topology) -> None:
    ids = await dead_letter(broker, topology, 3)
    one = dead_letters.Selection(ids=frozenset({ids[2]}))
    assert await dead_letters.drop(broker, topology, one) == [ids[2]]
    other_type = dead_letters.Selection(type="widget.deleted")
    assert await dead_letters.drop(broker, topology, other_type) == []
    left = await dead_letters.list_dead_letters(broker, topology, limit=100)
    assert [letter.message_id for letter in left] == ids[:2]
    assert await dead_letters.drop(broker, topology, dead_letters.Selection()) == ids[:2]
