"""Accounts signed in through an OpenID provider: found by the identity, linked through a
verified email, or created (with `user.registered`)."""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Annotated

from pydantic import EmailStr, Field, TypeAdapter, ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import OidcEmailMissing, OidcEmailUnverified
from auth_service.models import Account
from auth_service.oidc import Identity
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.hashing import Passwords
from auth_service.service.logins import IssuedTokens, LoginService
from shared.contracts import UserEmailVerified, UserRegistered

_NOT_NAME = re.compile(r"[^a-z0-9_]")
# One address, as registration accepts it: never a list, never longer than the column.
_EMAIL = TypeAdapter(Annotated[EmailStr, Field(max_length=320)])


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
        """An existing link signs in. Otherwise the provider must have verified the email: it
        links an account only if that account verified the same address too (so nobody can
        pre-register a victim's address and wait), and makes a new account if there is none.
        With TOTP on, the second factor is still asked for."""
        account = await self._repo.account_by_identity(
            provider=identity.provider, subject=identity.subject
        )
        if account is None:
            account = await self._link_or_create(identity, client)
        return await self._logins.federated(account, client)

    async def _link_or_create(self, identity: Identity, client: ClientInfo) -> Account:
        email = _valid_email(identity.email)
        if not identity.email_verified:
            # One answer whether or not an account has this address: nothing is linked or made.
            raise OidcEmailUnverified("The provider has not verified this email address.")
        account = await self._repo.account_by_email(email=email)
        if account is not None and account.email_verified_at is None:
            raise OidcEmailUnverified(
                "An account has this address but never verified it: reset its password (which "
                "proves the address is yours), then sign in here."
            )
        if account is None:
            account = await self._create(email, client)
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

    async def _create(self, email: str, client: ClientInfo) -> Account:
        base = _NOT_NAME.sub("_", email.split("@", 1)[0])[:23] or "user"
        username = f"{base}_{secrets.token_hex(4)}"
        # A password nobody knows: the account signs in through its provider (or resets one).
        password_hash = await self._passwords.hash(secrets.token_urlsafe(32))
        try:
            account = await self._repo.insert_account(
                email=email, username=username, password_hash=password_hash, roles=[]
            )
        except IntegrityError:
            await self._session.rollback()  # a concurrent first sign-in made it: link to that
            raced = await self._repo.account_by_email(email=email)
            if raced is None:
                raise
            return raced
        await self._repo.record(
            event=UserRegistered(user_id=account.id, email=email, username=username)
        )
        await self._repo.set_email_verified(account=account, at=datetime.now(UTC))
        await self._repo.record(event=UserEmailVerified(user_id=account.id, email=email))
        await self._logins.log.record("email_verified", account_id=account.id, client=client)
        return account


def _valid_email(value: str | None) -> str:
    try:
        return str(_EMAIL.validate_python(value)).lower()
    except ValidationError:
        raise OidcEmailMissing("The provider shared no usable email address.") from None
