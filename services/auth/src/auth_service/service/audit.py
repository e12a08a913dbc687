"""The security log: what happened to an account's security, in the transaction that did it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from auth_service.models import SecurityEvent
from auth_service.repository import AuthRepository
from shared.pagination import CursorCodec, Page, Position, paginate

EventType = Literal[
    "login_succeeded",
    "login_failed",
    "login_throttled",
    "password_changed",
    "password_reset",
    "email_verified",
    "session_revoked",
    "account_disabled",
    "account_enabled",
    "role_granted",
    "role_revoked",
    "mfa_enabled",
    "mfa_disabled",
]
SWEEP_BATCH = 100


@dataclass(frozen=True)
class ClientInfo:
    """Who is calling, as far as the request tells: its address and user agent."""

    address: str
    user_agent: str | None


class SecurityLog:
    """Appends entries in the caller's transaction; each entry also sweeps a few expired ones,
    so retention holds without a scheduler."""

    def __init__(self, *, repo: AuthRepository, retention: timedelta) -> None:
        self._repo = repo
        self._retention = retention

    async def record(
        self,
        type_: EventType,
        *,
        account_id: uuid.UUID | None,
        client: ClientInfo | None = None,
        reason: str | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        await self._repo.insert_security_event(
            event=SecurityEvent(
                id=uuid.uuid4(),
                account_id=account_id,
                type=type_,
                reason=reason,
                actor_id=actor_id,
                ip=client.address if client else None,
                user_agent=client.user_agent if client else None,
            )
        )
        await self._repo.delete_security_events_before(
            cutoff=datetime.now(UTC) - self._retention, limit=SWEEP_BATCH
        )


class SecurityEvents:
    """Reads the log, newest first, a page at a time."""

    def __init__(self, *, repo: AuthRepository, cursors: CursorCodec) -> None:
        self._repo = repo
        self._cursors = cursors

    async def page(
        self,
        *,
        account_id: uuid.UUID | None,
        type_: str | None,
        limit: int,
        cursor: str | None,
    ) -> Page[SecurityEvent]:
        """One account's entries (or everyone's), optionally of one type; a cursor is valid only
        for the filter it was issued under."""

        async def fetch(after: Position | None, count: int) -> list[SecurityEvent]:
            rows = await self._repo.security_events(
                account_id=account_id, type_=type_, after=after, limit=count
            )
            return list(rows)

        scope = f"security-events:{account_id}:{type_}"
        return await paginate(fetch, cursors=self._cursors, cursor=cursor, limit=limit, scope=scope)
