"""How long the event tables keep what they no longer need, and the sweep that enforces it.

Sent outbox rows are kept for `outbox_retention_seconds` (what was published, for operators and
audits; the relay never reads them again). Inbox rows are kept for `inbox_retention_seconds`: an
event id must stay known for as long as a copy of that event can still arrive (broker
redeliveries arrive within minutes; the default keeps a week). Every replica sweeps about once a
minute, in small batches under SKIP LOCKED, so replicas never wait on each other and no sweep
holds many locks.
"""

from __future__ import annotations

import asyncio
import logging
import random
from datetime import timedelta
from typing import Any

from sqlalchemy import ColumnElement, Table, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.metrics import EVENT_ROWS_SWEPT

logger = logging.getLogger(__name__)

BATCH = 1_000


class EventRetention:
    def __init__(
        self,
        *,
        session_factory: async_sessionmaker[AsyncSession],
        outbox: Table,
        inbox: Table,
        outbox_retention_seconds: float,
        inbox_retention_seconds: float,
        interval_seconds: float = 60.0,
    ) -> None:
        self._sessions = session_factory
        self._outbox = outbox
        self._inbox = inbox
        self._outbox_kept = timedelta(seconds=outbox_retention_seconds)
        self._inbox_kept = timedelta(seconds=inbox_retention_seconds)
        self._interval = interval_seconds

    async def run(self) -> None:
        """Sweep until cancelled; a failed sweep (database away) waits for the next round."""
        while True:
            # Jittered, so replicas started together do not sweep together.
            await asyncio.sleep(self._interval * random.uniform(0.5, 1.5))  # noqa: S311
            try:
                await self.sweep()
            except Exception:
                logger.warning("event retention sweep failed; next round retries", exc_info=True)

    async def sweep(self) -> dict[str, int]:
        """Delete what is past its retention, batch by batch; returns the rows deleted per table."""
        outbox, inbox = self._outbox.c, self._inbox.c
        return {
            "outbox_message": await self._sweep(
                self._outbox, outbox.id, outbox.published_at < func.now() - self._outbox_kept
            ),
            "inbox_message": await self._sweep(
                self._inbox, inbox.event_id, inbox.handled_at < func.now() - self._inbox_kept
            ),
        }

    async def _sweep(
        self, table: Table, key: ColumnElement[Any], expired: ColumnElement[bool]
    ) -> int:
        total = 0
        while True:
            batch = select(key).where(expired).limit(BATCH).with_for_update(skip_locked=True)
            async with self._sessions() as session, session.begin():
                result = await session.execute(
                    delete(table).where(key.in_(batch.scalar_subquery()))
                )
            deleted = int(getattr(result, "rowcount", 0) or 0)
            total += deleted
            if deleted:
                EVENT_ROWS_SWEPT.labels(table=table.name).inc(deleted)
            if deleted < BATCH:
                return total
