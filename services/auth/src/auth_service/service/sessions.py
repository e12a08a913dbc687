"""The caller's sessions: listing and revoking them, and the snapshot of revoked ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import Session
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.revoking import SessionRevoker, SessionRules
from shared.errors import NotFound
from shared.tokens import Principal


class SessionService:
    """Lists and ends the caller's sessions; every end is broadcast to every replica."""

    def __init__(self, *, session: AsyncSession, rules: SessionRules) -> None:
        self._session = session
        self._accounts = AuthRepository(session=session)
        self._revoker = SessionRevoker(repo=self._accounts, rules=rules)

    async def list_sessions(self, *, principal: Principal) -> Sequence[Session]:
        """The caller's live sessions, newest first."""
        return await self._accounts.active_sessions(account_id=uuid.UUID(principal.user_id))

    async def revoke_session(
        self, *, principal: Principal, session_id: uuid.UUID, client: ClientInfo | None = None
    ) -> None:
        """Only the caller's own sessions; anyone else's is a 404, as if it did not exist."""
        found = await self._accounts.session_by_id(session_id=session_id, for_update=True)
        if found is None or str(found.account_id) != principal.user_id:
            raise NotFound("No such session.")
        await self._revoker.revoke(
            account_id=found.account_id, reason="logout", only=found.id, client=client
        )
        await self._session.commit()

    async def logout(self, *, principal: Principal, client: ClientInfo | None = None) -> None:
        """Revoke the session the token belongs to."""
        if principal.session_id is not None:
            await self.revoke_session(
                principal=principal, session_id=uuid.UUID(principal.session_id), client=client
            )

    async def logout_all(self, *, principal: Principal, client: ClientInfo | None = None) -> None:
        """Revoke every session of the caller."""
        await self._revoker.revoke(
            account_id=uuid.UUID(principal.user_id), reason="logout_all", client=client
        )
        await self._session.commit()

    async def revoked_snapshot(self) -> dict[str, float]:
        """Sessions whose access tokens may still be presented, with when that ends."""
        return await self._revoker.snapshot()
