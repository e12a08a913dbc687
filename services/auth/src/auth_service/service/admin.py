"""What admins do to other accounts; each action is in the security log with the acting admin."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import LastAdmin, OwnAccount
from auth_service.models import Account, Session
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.revoking import SessionRevoker, SessionRules
from shared.contracts import UserDisabled
from shared.errors import Forbidden, NotFound
from shared.tokens import Principal

ADMIN = "admin"


class AdminService:
    """Disables and enables accounts, ends their sessions, grants and revokes the admin role."""

    def __init__(self, *, session: AsyncSession, rules: SessionRules) -> None:
        self._session = session
        self._repo = AuthRepository(session=session)
        self._revoker = SessionRevoker(repo=self._repo, rules=rules)

    async def disable(self, *, admin: Principal, account_id: uuid.UUID, client: ClientInfo) -> None:
        """No logins from now on; every session ends everywhere (`session.revoked`), and
        `user.disabled` is published. Disabling twice changes nothing."""
        actor = await self._acting_admin(admin)
        account = await self._other_account(actor, account_id)
        if account.disabled_at is not None:
            return
        if ADMIN in account.roles and await self._repo.admin_count(lock=True) <= 1:
            raise LastAdmin("The last admin cannot be disabled.")
        await self._repo.set_disabled(account=account, at=datetime.now(UTC))
        await self._revoker.revoke(
            account_id=account.id, reason="account_disabled", client=client, actor_id=actor
        )
        await self._repo.record(event=UserDisabled(user_id=account.id))
        await self._revoker.log.record(
            "account_disabled", account_id=account.id, client=client, actor_id=actor
        )
        await self._session.commit()

    async def enable(self, *, admin: Principal, account_id: uuid.UUID, client: ClientInfo) -> None:
        """The account may log in again (its old sessions stay ended)."""
        actor = await self._acting_admin(admin)
        account = await self._other_account(actor, account_id)
        if account.disabled_at is None:
            return
        await self._repo.set_disabled(account=account, at=None)
        await self._revoker.log.record(
            "account_enabled", account_id=account.id, client=client, actor_id=actor
        )
        await self._session.commit()

    async def sessions(self, *, account_id: uuid.UUID) -> Sequence[Session]:
        """The account's live sessions, newest first."""
        await self._account(account_id)
        return await self._repo.active_sessions(account_id=account_id)

    async def revoke_session(
        self,
        *,
        admin: Principal,
        account_id: uuid.UUID,
        session_id: uuid.UUID,
        client: ClientInfo,
    ) -> None:
        """End one session of the account (404 unless it is the account's)."""
        actor = await self._acting_admin(admin)
        found = await self._repo.session_by_id(session_id=session_id, for_update=True)
        if found is None or found.account_id != account_id:
            raise NotFound("No such session.")
        await self._revoker.revoke(
            account_id=account_id,
            reason="admin",
            only=session_id,
            client=client,
            actor_id=actor,
        )
        await self._session.commit()

    async def set_admin(
        self, *, admin: Principal, account_id: uuid.UUID, granted: bool, client: ClientInfo
    ) -> None:
        """Grant the admin role (in the account's tokens from its next login or refresh), or
        revoke it, which also ends the account's sessions, so no token still says admin; the
        last admin keeps it."""
        actor = await self._acting_admin(admin)
        account = await self._account(account_id)
        if granted == (ADMIN in account.roles):
            return
        if granted:
            await self._repo.add_role(account=account, role=ADMIN)
        else:
            if await self._repo.admin_count(lock=True) <= 1:
                raise LastAdmin("The last admin keeps the role.")
            await self._repo.remove_role(account=account, role=ADMIN)
            await self._revoker.revoke(
                account_id=account.id, reason="role_revoked", client=client, actor_id=actor
            )
        await self._revoker.log.record(
            "role_granted" if granted else "role_revoked",
            account_id=account.id,
            client=client,
            reason=ADMIN,
            actor_id=actor,
        )
        await self._session.commit()

    async def _acting_admin(self, admin: Principal) -> uuid.UUID:
        """The token says admin; so must the database, now (a demotion ends sessions, but a
        token minted a moment before it could still be in flight)."""
        actor = await self._repo.account_by_id(account_id=uuid.UUID(admin.user_id))
        if actor is None or ADMIN not in actor.roles or actor.disabled_at is not None:
            raise Forbidden("Admins only.")
        return actor.id

    async def _account(self, account_id: uuid.UUID) -> Account:
        account = await self._repo.account_by_id(account_id=account_id)
        if account is None:
            raise NotFound("There is no such account.")
        return account

    async def _other_account(self, actor: uuid.UUID, account_id: uuid.UUID) -> Account:
        if actor == account_id:
            raise OwnAccount("Admins cannot disable or enable their own account.")
        return await self._account(account_id)
