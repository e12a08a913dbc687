"""Accounts signed in through an OpenID provider: found by the identity, linked through a
verified email, or created (with `user.registered`)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import AccountDisabled, OidcEmailMissing, OidcEmailUnverified
from auth_service.models import Account
from auth_service.oidc import Identity
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.hashing import Passwords
from auth_service.service.logins import IssuedTokens, LoginService
from shared.contracts import UserEmailVerified, UserRegistered

_NOT_NAME = re.compile(r"[^a-z0-9_]")


class FederatedSignIn:
    """Turns a provider's verified identity into a session, like a password login would."""

    def __init__(
        self, *, session: AsyncSession, passwords: Passwords, logins: LoginService
    ) -> None:
        self._session = session
        self._passwords = passwords
        self._repo = AuthRepository(session=session)
        self._logins = logins

    async def sign_in(self, *, identity: Identity, client: ClientInfo) -> IssuedTokens:
        """An existing link signs in; else an account with the same email is linked only when the
        provider verified that email; else a new account is made."""
        account = await self._repo.account_by_identity(
            provider=identity.provider, subject=identity.subject
        )
        if account is None:
            account = await self._link_or_create(identity)
        if account.disabled_at is not None:
            raise AccountDisabled("This account is disabled; ask an administrator.")
        return await self._logins.open_federated_session(account, client)

    async def _link_or_create(self, identity: Identity) -> Account:
        if not identity.email:
            raise OidcEmailMissing("The provider shared no email address; it is needed here.")
        email = identity.email.strip().lower()
        account = await self._repo.account_by_email(email=email)
        if account is not None and not identity.email_verified:
            # Otherwise anyone could claim an account by typing its email at some provider.
            raise OidcEmailUnverified(
                "An account has this email, and the provider has not verified it: log in with "
                "the password instead."
            )
        if account is None:
            account = await self._create(email, verified=identity.email_verified)
        try:
            await self._repo.link_identity(
                provider=identity.provider, subject=identity.subject, account_id=account.id
            )
        except IntegrityError:
            await self._session.rollback()  # a concurrent callback linked it first
            linked = await self._repo.account_by_identity(
                provider=identity.provider, subject=identity.subject
            )
            if linked is None:
                raise
            return linked
        return account

    async def _create(self, email: str, *, verified: bool) -> Account:
        base = _NOT_NAME.sub("_", email.split("@", 1)[0])[:23] or "user"
        username = f"{base}_{secrets.token_hex(4)}"
        # A password nobody knows: the account signs in through its provider (or resets one).
        password_hash = await self._passwords.hash(secrets.token_urlsafe(32))
        account = await self._repo.insert_account(
            email=email, username=username, password_hash=password_hash, roles=[]
        )
        await self._repo.record(
            event=UserRegistered(user_id=account.id, email=email, username=username)
        )
        if verified:
            await self._repo.set_email_verified(account=account, at=datetime.now(UTC))
            await self._repo.record(event=UserEmailVerified(user_id=account.id, email=email))
        return account
