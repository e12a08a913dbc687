"""10,000 events through two broker restarts and two consumer kills: none lost, none applied twice.

Auth produces `user.registered` (users applies it: a profile) and `mail.queued` (auth applies it:
one message at the mail sink); files produces `file.uploaded` and `file.deleted` (users and todos
apply both: a row in their `known_file`, buried on delete). Counted afterwards from every
producer's outbox and every consumer's inbox and effect tables.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
import uuid
from collections.abc import Callable
from typing import Any

import httpx

from tools.chaos import PASSWORD, Request, Stack, Tally, drive, wait_until

USERS = 250  # two events each
FILES = 4_750  # uploaded, then deleted: two events each
EVENTS = 2 * USERS + 2 * FILES
# Who applies which event, and how a consumer's inbox is named in its database.
CONSUMERS = {
    "user.registered": ["users"],
    "mail.queued": ["auth"],
    "file.uploaded": ["users", "todos"],
    "file.deleted": ["users", "todos"],
}
PRODUCERS = {"auth": ["user.registered", "mail.queued"], "files": ["file.uploaded", "file.deleted"]}


def register(index: int) -> Request:
    name = f"chaos{index}_{uuid.uuid4().hex[:8]}"
    body = {"email": f"{name}@example.com", "username": name, "password": PASSWORD}
    return lambda client: client.post("/api/v1/auth/register", json=body)


def upload(token: str, index: int) -> Request:
    files = {"file": (f"f{index}.txt", f"chaos {index}".encode(), "text/plain")}
    headers = {"Authorization": f"Bearer {token}"}
    return lambda client: client.post("/api/v1/files", files=files, headers=headers)


def delete(token: str, file_id: str) -> Request:
    headers = {"Authorization": f"Bearer {token}"}
    return lambda client: client.delete(f"/api/v1/files/{file_id}", headers=headers)


class Faults:
    """Broker stopped and started twice, two consumer replicas SIGKILLed (and restarted), each at
    its share of the requests sent."""

    def __init__(self, stack: Stack, tally: Tally, planned: int) -> None:
        self.stack = stack
        self.tally = tally
        self.planned = planned
        self.log: list[str] = []
        self.schedule: list[tuple[float, str, Callable[[], None]]] = [
            (0.08, "broker stopped", stack.stop_broker),
            (0.16, "broker started", stack.start_broker),
            (0.30, "users-1 SIGKILLed", lambda: stack.kill("users-1")),
            (0.40, "users-1 restarted", lambda: stack.restart("users-1")),
            (0.55, "broker stopped", stack.stop_broker),
            (0.62, "broker started", stack.start_broker),
            (0.72, "todos-2 SIGKILLed", lambda: stack.kill("todos-2")),
            (0.85, "todos-2 restarted", lambda: stack.restart("todos-2")),
        ]

    async def run(self, done: asyncio.Event) -> None:
        started = time.monotonic()
        for share, what, action in self.schedule:
            while self.tally.total < share * self.planned and not done.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=0.05)
            await asyncio.to_thread(action)  # the load goes on meanwhile
            self.log.append(f"{time.monotonic() - started:.1f}s {what}")


async def produce(stack: Stack, tally: Tally) -> tuple[list[str], list[str], list[str], Faults]:
    """Register, upload and delete under the faults; returns users, uploads and deletions that
    got a 2xx answer."""
    faults = Faults(stack, tally, planned=USERS + 2 * FILES)
    done = asyncio.Event()
    chaos_task = asyncio.create_task(faults.run(done))
    try:
        registered: list[httpx.Response | BaseException] = []
        await drive(
            stack.base_url,
            [("register", register(i)) for i in range(USERS)],
            concurrency=8,
            tally=tally,
            results=registered,
        )
        users = [
            r.json()["id"] for r in registered if isinstance(r, httpx.Response) and r.is_success
        ]
        tokens = [stack.token(user) for user in users]
        uploaded: list[httpx.Response | BaseException] = []
        await drive(
            stack.base_url,
            [("upload", upload(tokens[i % len(tokens)], i)) for i in range(FILES)],
            concurrency=16,
            tally=tally,
            results=uploaded,
        )
        files = [
            (tokens[i % len(tokens)], r.json()["id"])
            for i, r in enumerate(uploaded)
            if isinstance(r, httpx.Response) and r.status_code == 201
        ]
        deleted: list[httpx.Response | BaseException] = []
        await drive(
            stack.base_url,
            [("delete", delete(token, file_id)) for token, file_id in files],
            concurrency=16,
            tally=tally,
            results=deleted,
        )
        gone = [
            file_id
            for (_, file_id), r in zip(files, deleted, strict=True)
            if isinstance(r, httpx.Response) and r.status_code == 204
        ]
    finally:
        done.set()
        await chaos_task  # every fault undone: broker up, replicas restarted
    return users, [file_id for _, file_id in files], gone, faults


def produced_ids(stack: Stack, since: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """Event id → envelope data, per event type, from the producers' outboxes."""
    found: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in CONSUMERS}
    for service, types in PRODUCERS.items():
        rows = stack.query(
            service,
            "SELECT id, type, envelope->'data' AS data FROM outbox_message"
            " WHERE created_at >= $1 AND type = ANY($2)",
            since,
            types,
        )
        for row in rows:
            found[row["type"]][str(row["id"])] = json.loads(row["data"])
    return found


def backlog(stack: Stack) -> int:
    return sum(
        stack.query(service, "SELECT count(*) FROM outbox_message WHERE published_at IS NULL")[0][0]
        for service in ("auth", "users", "todos", "files")
    )


def applied_ids(stack: Stack, consumer: str, event_type: str, since: Any) -> set[str]:
    rows = stack.query(
        consumer,
        "SELECT event_id FROM inbox_message WHERE type = $1 AND handled_at >= $2",
        event_type,
        since,
    )
    return {str(row["event_id"]) for row in rows}


def test_no_event_is_lost_or_applied_twice(stack: Stack, report: Callable[..., None]) -> None:
    since = stack.query("auth", "SELECT now()")[0][0]
    tally = Tally()
    started = time.monotonic()
    users, uploaded, deleted, faults = asyncio.run(produce(stack, tally))
    load_seconds = time.monotonic() - started

    produced = produced_ids(stack, since)
    expected = sum(len(ids) for ids in produced.values())

    def all_applied() -> bool:
        if backlog(stack):
            return False
        return all(
            set(produced[event_type]) <= applied_ids(stack, consumer, event_type, since)
            for event_type, consumers in CONSUMERS.items()
            for consumer in consumers
        )

    drain_started = time.monotonic()
    try:
        wait_until(all_applied, within=240, what="every event applied by every consumer")
    finally:
        drain_seconds = time.monotonic() - drain_started
        counts: dict[str, dict[str, int]] = {}
        lost = 0
        for event_type, consumers in CONSUMERS.items():
            for consumer in consumers:
                applied = applied_ids(stack, consumer, event_type, since)
                missing = len(set(produced[event_type]) - applied)
                lost += missing
                counts[f"{event_type} → {consumer}"] = {
                    "produced": len(produced[event_type]),
                    "applied": len(applied & set(produced[event_type])),
                    "lost": missing,
                }
        mail = stack.mail_recipients()
        addresses = [data["email"] for data in produced["user.registered"].values()]
        mails_twice = sum(max(0, mail[address] - 1) for address in addresses)
        mails_missing = sum(1 for address in addresses if mail[address] == 0)
        report(
            events_produced=expected,
            requests=tally.describe(),
            faults=faults.log,
            load_seconds=round(load_seconds, 1),
            drain_seconds_after_last_fault=round(drain_seconds, 1),
            per_consumer=counts,
            lost=lost,
            mail_sent_twice=mails_twice,
            mail_missing=mails_missing,
            dead_letter_queues=stack.dead_letters(),
        )

    # Every 2xx the clients saw is an event in the outbox, and nothing else is.
    assert len(produced["user.registered"]) == len(users) == USERS, tally.describe()
    assert len(produced["mail.queued"]) == USERS
    assert {d["file_id"] for d in produced["file.uploaded"].values()} == set(uploaded)
    assert {d["file_id"] for d in produced["file.deleted"].values()} == set(deleted)
    assert expected == EVENTS, f"{expected} events for {EVENTS} requests: {tally.describe()}"
    assert lost == 0
    # Applied once: one profile per user, one message per address, every file known and buried.
    assert mails_twice == 0 and mails_missing == 0
    profiles = stack.query(
        "users", "SELECT count(*) FROM profile WHERE id = ANY($1::uuid[])", users
    )
    assert profiles[0][0] == USERS
    for consumer in ("users", "todos"):
        rows = stack.query(
            consumer,
            "SELECT count(*) FILTER (WHERE deleted_at IS NOT NULL), count(*) FROM known_file"
            " WHERE id = ANY($1::uuid[])",
            uploaded,
        )
        assert tuple(rows[0]) == (len(deleted), len(uploaded)), consumer
    dead = stack.dead_letters()
    assert len(dead) == 4 and sum(dead.values()) == 0, dead
    assert not tally.not_problems, tally.not_problems[:5]
