"""Other services' events, as they change accounts."""

from __future__ import annotations

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.repository import AuthRepository
from auth_service.service.revoking import SessionRevoker, SessionRules


class ForeignEventsService:
    """Applies other services' events to accounts.

    Runs in the consumer's transaction (committed together with its inbox row): never commits.
    """

    def __init__(self, *, session: AsyncSession, rules: SessionRules) -> None:
        self._accounts = AuthRepository(session=session)
        self._revoker = SessionRevoker(repo=self._accounts, rules=rules)

    async def user_deleted(self, *, user_id: uuid.UUID) -> None:
        """The account is gone: every session is revoked, then the credentials are deleted."""
        await self._revoker.revoke(account_id=user_id, reason="account_deleted")
        await self._accounts.delete_account(account_id=user_id)
