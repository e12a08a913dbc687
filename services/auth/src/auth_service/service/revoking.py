"""Revoking sessions: in the database, and to every replica of every service through the outbox."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo, SecurityLog
from shared.contracts import SessionRevoked


@dataclass(frozen=True)
class SessionRules:
    """How long sessions live, and how long a revoked one's access tokens could still be shown."""

    refresh_ttl: timedelta
    reuse_grace: timedelta
    """A rotated refresh token seen again this soon is a concurrent retry, not theft."""
    revocation_horizon: timedelta
    """Access-token lifetime plus leeway: after this, a revoked session has no live token."""
    security_log_retention: timedelta = timedelta(days=90)


class SessionRevoker:
    """Revokes sessions in the caller's transaction, each with its `session.revoked` broadcast."""

    def __init__(self, *, repo: AuthRepository, rules: SessionRules) -> None:
        self._repo = repo
        self._rules = rules
        self.log = SecurityLog(repo=repo, retention=rules.security_log_retention)

    async def revoke(
        self,
        *,
        account_id: uuid.UUID,
        reason: str,
        only: uuid.UUID | None = None,
        keep: uuid.UUID | None = None,
        client: ClientInfo | None = None,
        actor_id: uuid.UUID | None = None,
    ) -> None:
        """Revoke the account's live sessions (only `only`, or all but `keep`), each logged."""
        revoked = await self._repo.revoke_sessions(
            account_id=account_id, reason=reason, only=only, keep=keep
        )
        until = datetime.now(UTC) + self._rules.revocation_horizon
        for session_id in revoked:
            await self._repo.record(
                event=SessionRevoked(session_id=session_id, user_id=account_id, expires_at=until)
            )
            await self.log.record(
                "session_revoked",
                account_id=account_id,
                reason=reason,
                client=client,
                actor_id=actor_id,
            )

    async def snapshot(self) -> dict[str, float]:
        """Sessions whose access tokens may still be presented, with when that ends."""
        horizon = self._rules.revocation_horizon
        rows = await self._repo.revoked_since(since=datetime.now(UTC) - horizon)
        return {str(sid): (revoked_at + horizon).timestamp() for sid, revoked_at in rows}
