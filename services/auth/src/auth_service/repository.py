"""Every SQL statement of the auth service."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, or_, select, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.models import (
    EVENT_TABLES,
    Account,
    EmailToken,
    OidcIdentity,
    OutgoingMail,
    RecoveryCode,
    RefreshToken,
    SecurityEvent,
    Session,
)
from shared.events import DomainEvent, record_event
from shared.pagination import Position

PRODUCER = "auth"


class AuthRepository:
    """Accounts, sessions, refresh tokens and the outbox, in the caller's session and transaction."""

    def __init__(self, *, session: AsyncSession) -> None:
        self._session = session

    async def account_by_login(self, *, login: str) -> Account | None:
        """By username or email, both stored lower-cased."""
        login = login.strip().lower()
        query = select(Account).where(or_(Account.username == login, Account.email == login))
        return (await self._session.execute(query)).scalars().first()

    async def account_by_id(
        self, *, account_id: uuid.UUID, for_update: bool = False
    ) -> Account | None:
        """The account; locked with `for_update`, so two codes racing cannot both be accepted."""
        return await self._session.get(Account, account_id, with_for_update=for_update)

    async def taken(self, *, email: str, username: str) -> tuple[bool, bool]:
        """Whether the email and the username are already in use."""
        rows = (
            await self._session.execute(
                select(Account.email, Account.username).where(
                    or_(Account.email == email, Account.username == username)
                )
            )
        ).all()
        return any(r.email == email for r in rows), any(r.username == username for r in rows)

    async def any_admin(self) -> bool:
        query = select(Account.id).where(Account.roles.contains(["admin"])).limit(1)
        return (await self._session.execute(query)).first() is not None

    async def insert_account(
        self, *, email: str, username: str, password_hash: str, roles: Sequence[str]
    ) -> Account:
        """A new account; a taken email or username raises IntegrityError here, not at commit."""
        account = Account(
            email=email, username=username, password_hash=password_hash, roles=list(roles)
        )
        self._session.add(account)
        await self._session.flush()
        return account

    async def set_password_hash(self, *, account: Account, password_hash: str) -> None:
        account.password_hash = password_hash

    async def add_role(self, *, account: Account, role: str) -> None:
        account.roles = sorted({*account.roles, role})

    async def delete_account(self, *, account_id: uuid.UUID) -> None:
        account = await self._session.get(Account, account_id)
        if account is not None:
            await self._session.delete(account)

    async def insert_session(self, *, session: Session) -> None:
        """Written at once: refresh tokens refer to it."""
        self._session.add(session)
        await self._session.flush()

    async def insert_refresh_token(self, *, token_hash: bytes, session_id: uuid.UUID) -> None:
        self._session.add(RefreshToken(token_hash=token_hash, session_id=session_id))

    async def refresh_token_for_update(self, *, token_hash: bytes) -> RefreshToken | None:
        """The token row, locked: concurrent refreshes with one token are serialised here."""
        query = select(RefreshToken).where(RefreshToken.token_hash == token_hash).with_for_update()
        return (await self._session.execute(query)).scalars().first()

    async def mark_used(self, *, token: RefreshToken, session: Session, now: datetime) -> None:
        """The token is spent, and its session was used now."""
        token.rotated_at = now
        session.last_used_at = now

    async def session_by_id(
        self, *, session_id: uuid.UUID, for_update: bool = False
    ) -> Session | None:
        query = select(Session).where(Session.id == session_id)
        if for_update:
            query = query.with_for_update()
        return (await self._session.execute(query)).scalars().first()

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
        return list((await self._session.execute(query)).scalars())

    async def revoke_sessions(
        self,
        *,
        account_id: uuid.UUID,
        reason: str,
        only: uuid.UUID | None = None,
        keep: uuid.UUID | None = None,
    ) -> list[uuid.UUID]:
        """Revoke the account's live sessions (only `only`, or all but `keep`); the ids revoked."""
        query = (
            update(Session)
            .where(Session.account_id == account_id, Session.revoked_at.is_(None))
            .values(revoked_at=func.now(), revoked_reason=reason)
            .returning(Session.id)
            .execution_options(synchronize_session="fetch")
        )
        if only is not None:
            query = query.where(Session.id == only)
        if keep is not None:
            query = query.where(Session.id != keep)
        return list((await self._session.execute(query)).scalars())

    async def revoked_since(self, *, since: datetime) -> list[tuple[uuid.UUID, datetime]]:
        """Sessions revoked after `since` (older ones have no live access token left)."""
        query = select(Session.id, Session.revoked_at).where(Session.revoked_at > since)
        return [(row.id, row.revoked_at) for row in (await self._session.execute(query)).all()]

    async def account_by_email(self, *, email: str) -> Account | None:
        query = select(Account).where(Account.email == email.strip().lower())
        return (await self._session.execute(query)).scalars().first()

    async def set_email_verified(self, *, account: Account, at: datetime) -> None:
        account.email_verified_at = at

    async def insert_email_token(
        self,
        *,
        token_hash: bytes,
        account_id: uuid.UUID,
        purpose: str,
        email: str,
        expires_at: datetime,
    ) -> None:
        self._session.add(
            EmailToken(
                token_hash=token_hash,
                account_id=account_id,
                purpose=purpose,
                email=email,
                expires_at=expires_at,
            )
        )

    async def email_token_for_update(self, *, token_hash: bytes, purpose: str) -> EmailToken | None:
        """The token row, locked: two uses racing each other cannot both succeed."""
        query = (
            select(EmailToken)
            .where(EmailToken.token_hash == token_hash, EmailToken.purpose == purpose)
            .with_for_update()
        )
        return (await self._session.execute(query)).scalars().first()

    async def use_email_tokens(self, *, account_id: uuid.UUID, purpose: str, at: datetime) -> None:
        """Spend every live token of the account for `purpose` (the one used, and older ones)."""
        await self._session.execute(
            update(EmailToken)
            .where(
                EmailToken.account_id == account_id,
                EmailToken.purpose == purpose,
                EmailToken.used_at.is_(None),
            )
            .values(used_at=at)
            .execution_options(synchronize_session=False)
        )

    async def insert_mail(self, *, recipient: str, subject: str, text: str, html: str) -> uuid.UUID:
        mail = OutgoingMail(
            id=uuid.uuid4(), recipient=recipient, subject=subject, text_body=text, html_body=html
        )
        self._session.add(mail)
        return mail.id

    async def mail_for_update(self, *, mail_id: uuid.UUID) -> OutgoingMail | None:
        """The queued message, locked, so two deliveries of one event send it once."""
        query = select(OutgoingMail).where(OutgoingMail.id == mail_id).with_for_update()
        return (await self._session.execute(query)).scalars().first()

    async def delete_mail(self, *, mail: OutgoingMail) -> None:
        await self._session.delete(mail)

    async def account_by_identity(self, *, provider: str, subject: str) -> Account | None:
        query = (
            select(Account)
            .join(OidcIdentity, OidcIdentity.account_id == Account.id)
            .where(OidcIdentity.provider == provider, OidcIdentity.subject == subject)
        )
        return (await self._session.execute(query)).scalars().first()

    async def link_identity(self, *, provider: str, subject: str, account_id: uuid.UUID) -> None:
        self._session.add(OidcIdentity(provider=provider, subject=subject, account_id=account_id))
        await self._session.flush()

    async def replace_recovery_codes(
        self, *, account_id: uuid.UUID, code_hashes: Sequence[bytes]
    ) -> None:
        await self._session.execute(
            delete(RecoveryCode).where(RecoveryCode.account_id == account_id)
        )
        self._session.add_all(
            RecoveryCode(code_hash=code_hash, account_id=account_id) for code_hash in code_hashes
        )

    async def use_recovery_code(self, *, account_id: uuid.UUID, code_hash: bytes) -> bool:
        """Spend the account's unused code with this hash; False if there is none."""
        used = await self._session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.account_id == account_id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=func.now())
            .returning(RecoveryCode.code_hash)
        )
        return used.first() is not None

    async def insert_security_event(self, *, event: SecurityEvent) -> None:
        self._session.add(event)

    async def security_events(
        self,
        *,
        account_id: uuid.UUID | None,
        type_: str | None,
        after: Position | None,
        limit: int,
    ) -> Sequence[SecurityEvent]:
        """Newest first by (created_at, id), strictly after `after`; filtered when asked."""
        query = (
            select(SecurityEvent)
            .order_by(SecurityEvent.created_at.desc(), SecurityEvent.id.desc())
            .limit(limit)
        )
        if account_id is not None:
            query = query.where(SecurityEvent.account_id == account_id)
        if type_ is not None:
            query = query.where(SecurityEvent.type == type_)
        if after is not None:
            query = query.where(
                tuple_(SecurityEvent.created_at, SecurityEvent.id)
                < tuple_(after.created_at, after.id)
            )
        return (await self._session.scalars(query)).all()

    async def delete_security_events_before(self, *, cutoff: datetime, limit: int) -> int:
        """Delete up to `limit` of the oldest entries older than `cutoff`; how many went."""
        # SKIP LOCKED: concurrent logins each sweep other rows instead of waiting on one batch.
        oldest = (
            select(SecurityEvent.id)
            .where(SecurityEvent.created_at < cutoff)
            .order_by(SecurityEvent.created_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        result = await self._session.execute(
            delete(SecurityEvent).where(SecurityEvent.id.in_(oldest.scalar_subquery()))
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def set_disabled(self, *, account: Account, at: datetime | None) -> None:
        account.disabled_at = at

    async def remove_role(self, *, account: Account, role: str) -> None:
        account.roles = sorted(set(account.roles) - {role})

    async def admin_count(self, *, lock: bool = False) -> int:
        """Active admins; with `lock`, their rows stay locked to the end of the transaction, so
        two admins removing each other at once cannot both see the other one still there."""
        query = select(Account.id).where(
            Account.roles.contains(["admin"]), Account.disabled_at.is_(None)
        )
        if lock:
            query = query.with_for_update()
        return len((await self._session.execute(query)).all())

    async def record(self, *, event: DomainEvent) -> None:
        """Write `event` to the outbox in this transaction; it leaves only if the transaction commits."""
        await record_event(self._session, EVENT_TABLES.outbox, event, producer=PRODUCER)
