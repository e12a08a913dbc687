"""Every SQL statement of the auth service."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import Account, RefreshToken, Session


class AuthRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.db = session

    async def account_by_login(self, *, login: str) -> Account | None:
        """By username or email, both stored lower-cased."""
        login = login.strip().lower()
        query = select(Account).where(or_(Account.username == login, Account.email == login))
        return (await self.db.execute(query)).scalars().first()

    async def account_by_id(self, *, account_id: uuid.UUID) -> Account | None:
        return await self.db.get(Account, account_id)

    async def taken(self, *, email: str, username: str) -> tuple[bool, bool]:
        """Whether the email and the username are already in use."""
        rows = (
            await self.db.execute(
                select(Account.email, Account.username).where(
                    or_(Account.email == email, Account.username == username)
                )
            )
        ).all()
        return any(r.email == email for r in rows), any(r.username == username for r in rows)

    async def any_admin(self) -> bool:
        query = select(Account.id).where(Account.roles.contains(["admin"])).limit(1)
        return (await self.db.execute(query)).first() is not None

    async def delete_account(self, *, account_id: uuid.UUID) -> None:
        account = await self.db.get(Account, account_id)
        if account is not None:
            await self.db.delete(account)

    async def refresh_token_for_update(self, *, token_hash: bytes) -> RefreshToken | None:
        """The token row, locked: concurrent refreshes with one token are serialised here."""
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return (await self.db.execute(query)).scalars().first()

    async def session_by_id(
        self, *, session_id: uuid.UUID, for_update: bool = False
    ) -> Session | None:
        query = select(Session).where(Session.id == session_id)
        if for_update:
            query = query.with_for_update()
        return (await self.db.execute(query)).scalars().first()

    async def active_sessions(self, *, account_id: uuid.UUID) -> list[Session]:
        query = (
            select(Session)
            .where(
                Session.account_id == account_id,
                Session.revoked_at.is_(None),
                Session.expires_at > func.now(),
            )
            .order_by(Session.created_at.desc())
        )
        return list((await self.db.execute(query)).scalars())

    async def revoke_sessions(
        self, *, account_id: uuid.UUID, reason: str, keep: uuid.UUID | None = None
    ) -> list[uuid.UUID]:
        """Revoke the account's live sessions (but `keep`); returns the ids revoked."""
        query = (
            update(Session)
            .where(Session.account_id == account_id, Session.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_reason=reason)
            .returning(Session.id)
        )
        if keep is not None:
            query = query.where(Session.id != keep)
        return list((await self.db.execute(query)).scalars())

    async def revoked_since(self, *, since: datetime) -> list[tuple[uuid.UUID, datetime]]:
        """Sessions revoked after `since` (older ones have no live access token left)."""
        query = select(Session.id, Session.revoked_at).where(Session.revoked_at > since)
        return [(row.id, row.revoked_at) for row in (await self.db.execute(query)).all()]
