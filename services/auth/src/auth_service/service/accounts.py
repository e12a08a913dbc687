"""Accounts: registration, the caller's own account, password changes, and admins."""

from __future__ import annotations

import uuid

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import EmailTaken, InvalidCredentials, UsernameTaken
from auth_service.models import Account
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.hashing import Passwords
from auth_service.service.mailing import LinkRules, MailQueue
from auth_service.service.revoking import SessionRevoker, SessionRules
from auth_service.service.verification import queue_verification
from shared.contracts import UserRegistered
from shared.errors import NotFound
from shared.tokens import Principal


class AccountService:
    """Creates accounts (with `user.registered`) and changes what only their owner may."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        passwords: Passwords,
        rules: SessionRules,
        links: LinkRules,
    ) -> None:
        self._session = session
        self._passwords = passwords
        self._accounts = AuthRepository(session=session)
        self._revoker = SessionRevoker(repo=self._accounts, rules=rules)
        self._mail = MailQueue(repo=self._accounts, rules=links)

    async def register(self, *, email: str, username: str, password: str) -> Account:
        """Email (case-insensitive) and username are unique; weak passwords are refused; the
        first verification link is mailed."""
        email = email.lower()
        self._passwords.check_policy(password, username=username, email=email)
        await self._refuse_taken(email=email, username=username)
        password_hash = await self._passwords.hash(password)
        try:
            account = await self._accounts.insert_account(
                email=email, username=username, password_hash=password_hash, roles=[]
            )
        except IntegrityError:
            # Lost a race with a concurrent registration: say which value is taken.
            await self._session.rollback()
            await self._refuse_taken(email=email, username=username)
            raise
        await self._accounts.record(
            event=UserRegistered(user_id=account.id, email=email, username=username)
        )
        await queue_verification(self._mail, account)
        await self._session.commit()
        return account

    async def me(self, *, principal: Principal) -> Account:
        """The caller's account."""
        return await self._account(principal)

    async def change_password(
        self,
        *,
        principal: Principal,
        current_password: str,
        new_password: str,
        client: ClientInfo | None = None,
    ) -> None:
        """The current password must match; every other session of the account is revoked."""
        account = await self._account(principal)
        if not await self._passwords.verify(account.password_hash, current_password):
            raise InvalidCredentials("The current password is wrong.")
        self._passwords.check_policy(
            new_password, username=account.username, email=account.email, field="new_password"
        )
        await self._accounts.set_password_hash(
            account=account, password_hash=await self._passwords.hash(new_password)
        )
        keep = uuid.UUID(principal.session_id) if principal.session_id else None
        await self._revoker.revoke(
            account_id=account.id, reason="password_changed", keep=keep, client=client
        )
        await self._revoker.log.record("password_changed", account_id=account.id, client=client)
        await self._session.commit()

    async def ensure_admin(self, *, email: str, username: str, password: str) -> bool:
        """Create the first admin unless an admin exists; True if one was created."""
        if await self._accounts.any_admin():
            return False
        existing = await self._accounts.account_by_login(login=username)
        if existing is not None:
            await self._accounts.add_role(account=existing, role="admin")
            await self._session.commit()
            return True
        email, username = email.lower(), username.lower()
        self._passwords.check_policy(password, username=username, email=email)
        password_hash = await self._passwords.hash(password)
        try:
            account = await self._accounts.insert_account(
                email=email, username=username, password_hash=password_hash, roles=["admin"]
            )
        except IntegrityError:
            # Another replica, starting at the same moment, created it first.
            await self._session.rollback()
            return False
        await self._accounts.record(
            event=UserRegistered(user_id=account.id, email=email, username=username)
        )
        await self._session.commit()
        return True

    async def _account(self, principal: Principal) -> Account:
        account = await self._accounts.account_by_id(account_id=uuid.UUID(principal.user_id))
        if account is None:
            raise NotFound("The account no longer exists.")
        return account

    async def _refuse_taken(self, *, email: str, username: str) -> None:
        email_taken, username_taken = await self._accounts.taken(email=email, username=username)
        if email_taken:
            raise EmailTaken("An account with this email exists.")
        if username_taken:
            raise UsernameTaken("This username is taken.")


class RoleService:
    """Grants roles; a role shows in the account's access tokens from its next login or refresh."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session
        self._accounts = AuthRepository(session=session)

    async def grant(self, *, login: str, role: str) -> Account:
        """Give the account named by username or email `role` (granting twice changes nothing)."""
        account = await self._accounts.account_by_login(login=login)
        if account is None:
            raise NotFound(f"There is no account {login!r}.")
        await self._accounts.add_role(account=account, role=role)
        await self._session.commit()
        return account
