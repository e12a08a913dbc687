"""The rules of accounts, sessions and tokens; one commit per use case, no web framework."""

from __future__ import annotations

import ipaddress
import uuid
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.client_address import client_address
from auth_service.errors import (
    AuthBusy,
    EmailTaken,
    InvalidCredentials,
    InvalidRefreshToken,
    LoginThrottled,
    RefreshTokenReused,
    UsernameTaken,
    WeakPasswordError,
)
from auth_service.issuer import TokenIssuer, hash_refresh_token, new_refresh_token
from auth_service.metrics import LOGIN_THROTTLED, LOGINS
from auth_service.models import EVENT_TABLES, Account, RefreshToken, Session
from auth_service.passwords import (
    AsyncPasswordHasher,
    Busy,
    WeakPassword,
    check_password_policy,
)
from auth_service.repository import AuthRepository
from auth_service.schemas import AccountCreate, SessionRead, TokenPair
from auth_service.throttle import Decision, LoginThrottle, ThrottleUnavailable
from shared.contracts import SessionRevoked, UserRegistered
from shared.errors import NotFound
from shared.events import DomainEvent, record_event
from shared.tokens import Principal

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
PRODUCER = "auth"


@dataclass(frozen=True)
class AuthComponents:
    """What the auth service builds once per process and every request shares."""

    issuer: TokenIssuer
    hasher: AsyncPasswordHasher
    throttle: LoginThrottle
    trusted_proxies: Sequence[Network]
    refresh_ttl: timedelta
    reuse_grace: timedelta
    revocation_horizon: timedelta
    """How long a revoked session's access tokens could still be presented (TTL + leeway)."""


@dataclass(frozen=True)
class ClientInfo:
    """Who is calling, as far as the request tells: address (behind the gateway) and agent."""

    address: str
    user_agent: str | None

    @classmethod
    def from_request_parts(
        cls,
        *,
        peer: str | None,
        forwarded_for: str | None,
        user_agent: str | None,
        trusted_proxies: Sequence[Network],
    ) -> ClientInfo:
        address = client_address(
            peer=peer, forwarded_for=forwarded_for, trusted_proxies=trusted_proxies
        )
        return cls(address=address, user_agent=(user_agent or "")[:256] or None)


class AuthService:
    def __init__(self, *, db: AsyncSession, parts: AuthComponents) -> None:
        self.db = db
        self.repo = AuthRepository(db)
        self.parts = parts

    async def register(self, *, data: AccountCreate) -> Account:
        """Email (case-insensitive) and username are unique; weak passwords are refused."""
        email, username = data.email.lower(), data.username
        try:
            check_password_policy(data.password, username=username, email=email)
        except WeakPassword as exc:
            raise WeakPasswordError(str(exc)) from None
        await self._refuse_taken(email=email, username=username)
        account = Account(
            email=email,
            username=username,
            password_hash=await self._hash(data.password),
            roles=[],
        )
        self.db.add(account)
        try:
            await self.db.flush()
            await self._publish(UserRegistered(user_id=account.id, email=email, username=username))
            await self.db.commit()
        except IntegrityError:
            # Lost a race with a concurrent registration: say which value is taken.
            await self.db.rollback()
            await self._refuse_taken(email=email, username=username)
            raise
        return account

    async def login(self, *, login: str, password: str, client: ClientInfo) -> TokenPair:
        """Throttled per account and address; unknown users cost the same time as wrong passwords."""
        account = await self.repo.account_by_login(login=login)
        key = str(account.id) if account else f"unknown:{login.strip().lower()}"
        decision: Decision = await self._guarded(
            self.parts.throttle.check(account=key, address=client.address)
        )
        if not decision.allowed:
            LOGINS.labels(outcome="throttled").inc()
            LOGIN_THROTTLED.labels(reason=decision.reason or "unknown").inc()
            raise LoginThrottled(
                "Too many login attempts; retry later.",
                headers={"Retry-After": str(decision.retry_after)},
            )
        if account is None:
            await self._guarded(self.parts.hasher.verify_dummy(password))
            verified = False
        else:
            verified = await self._verify(account.password_hash, password)
        if not verified or account is None:
            await self._guarded(
                self.parts.throttle.record_failure(account=key, address=client.address)
            )
            LOGINS.labels(outcome="invalid_credentials").inc()
            raise InvalidCredentials("Wrong username or password.")
        LOGINS.labels(outcome="success").inc()
        await self._guarded(self.parts.throttle.record_success(account=key, address=client.address))
        if self.parts.hasher.needs_rehash(account.password_hash):
            account.password_hash = await self._hash(password)
        now = datetime.now(UTC)
        session = Session(
            id=uuid.uuid4(),
            account_id=account.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + self.parts.refresh_ttl,
            user_agent=client.user_agent,
            ip=client.address,
        )
        self.db.add(session)
        await self.db.flush()  # the session row first: the refresh token refers to it
        refresh_token = self._add_refresh_token(session.id)
        await self.db.commit()
        return self._pair(account, session.id, refresh_token)

    async def refresh(self, *, refresh_token: str) -> TokenPair:
        """Rotate: the old token dies; a rotated token presented again revokes the session."""
        row = await self.repo.refresh_token_for_update(token_hash=hash_refresh_token(refresh_token))
        if row is None:
            raise InvalidRefreshToken("The refresh token is not valid.")
        now = datetime.now(UTC)
        session = await self.repo.session_by_id(session_id=row.session_id, for_update=True)
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise InvalidRefreshToken("The refresh token is not valid.")
        if row.rotated_at is not None:
            if now - row.rotated_at <= self.parts.reuse_grace:
                # The same client retrying concurrently: it already got the one new pair.
                raise InvalidRefreshToken("The refresh token was already used.")
            await self._revoke(session.account_id, [session.id], reason="refresh_reuse")
            await self.db.commit()
            raise RefreshTokenReused("The refresh token was used twice; the session is revoked.")
        account = await self.repo.account_by_id(account_id=session.account_id)
        if account is None:
            raise InvalidRefreshToken("The refresh token is not valid.")
        row.rotated_at = now
        session.last_used_at = now
        new_token = self._add_refresh_token(session.id)
        await self.db.commit()
        return self._pair(account, session.id, new_token)

    async def logout(self, *, principal: Principal) -> None:
        """Revoke the session the token belongs to."""
        if principal.session_id is not None:
            await self.revoke_session(
                principal=principal, session_id=uuid.UUID(principal.session_id)
            )

    async def logout_all(self, *, principal: Principal) -> None:
        """Revoke every session of the caller."""
        account_id = uuid.UUID(principal.user_id)
        revoked = await self.repo.revoke_sessions(account_id=account_id, reason="logout_all")
        await self._announce_revoked(account_id, revoked)
        await self.db.commit()

    async def change_password(
        self, *, principal: Principal, current_password: str, new_password: str
    ) -> None:
        """The current password must match; every other session of the account is revoked."""
        account = await self._account(principal)
        if not await self._verify(account.password_hash, current_password):
            raise InvalidCredentials("The current password is wrong.")
        try:
            check_password_policy(new_password, username=account.username, email=account.email)
        except WeakPassword as exc:
            raise WeakPasswordError(str(exc)) from None
        account.password_hash = await self._hash(new_password)
        keep = uuid.UUID(principal.session_id) if principal.session_id else None
        revoked = await self.repo.revoke_sessions(
            account_id=account.id, reason="password_changed", keep=keep
        )
        await self._announce_revoked(account.id, revoked)
        await self.db.commit()

    async def sessions(self, *, principal: Principal) -> list[SessionRead]:
        """The caller's live sessions, newest first, marking the one this token belongs to."""
        rows = await self.repo.active_sessions(account_id=uuid.UUID(principal.user_id))
        return [
            SessionRead(
                id=row.id,
                created_at=row.created_at,
                last_used_at=row.last_used_at,
                expires_at=row.expires_at,
                user_agent=row.user_agent,
                ip=row.ip,
                current=str(row.id) == principal.session_id,
            )
            for row in rows
        ]

    async def revoke_session(self, *, principal: Principal, session_id: uuid.UUID) -> None:
        """Only the caller's own sessions; anyone else's is a 404, as if it did not exist."""
        session = await self.repo.session_by_id(session_id=session_id, for_update=True)
        if session is None or str(session.account_id) != principal.user_id:
            raise NotFound("No such session.")
        if session.revoked_at is None:
            session.revoked_at = datetime.now(UTC)
            session.revoked_reason = "logout"
            await self._announce_revoked(session.account_id, [session.id])
        await self.db.commit()

    async def me(self, *, principal: Principal) -> Account:
        """The caller's account."""
        return await self._account(principal)

    async def revoked_snapshot(self) -> dict[str, float]:
        """Sessions whose access tokens may still be presented, with when that ends."""
        return await revoked_sessions(self.db, horizon=self.parts.revocation_horizon)

    async def ensure_admin(self, *, email: str, username: str, password: str) -> bool:
        """Create the first admin unless an admin exists; True if one was created."""
        if await self.repo.any_admin():
            return False
        existing = await self.repo.account_by_login(login=username)
        if existing is not None:
            existing.roles = sorted({*existing.roles, "admin"})
        else:
            check_password_policy(password, username=username, email=email)
            self.db.add(
                account := Account(
                    email=email.lower(),
                    username=username.lower(),
                    password_hash=await self._hash(password),
                    roles=["admin"],
                )
            )
            try:
                await self.db.flush()
            except IntegrityError:
                # Another replica, starting at the same moment, created it first.
                await self.db.rollback()
                return False
            await self._publish(
                UserRegistered(user_id=account.id, email=account.email, username=account.username)
            )
        await self.db.commit()
        return True

    async def _hash(self, password: str) -> str:
        result: str = await self._guarded(self.parts.hasher.hash(password))
        return result

    async def _verify(self, password_hash: str, password: str) -> bool:
        result: bool = await self._guarded(self.parts.hasher.verify(password_hash, password))
        return result

    @staticmethod
    async def _guarded(operation: Awaitable[Any]) -> Any:
        """Overload (hash queue full) or Redis down: 503, retry shortly; never a 500."""
        try:
            return await operation
        except (Busy, ThrottleUnavailable):
            raise AuthBusy(
                "Too busy to check passwords right now; retry shortly.",
                headers={"Retry-After": "1"},
            ) from None

    async def _account(self, principal: Principal) -> Account:
        account = await self.repo.account_by_id(account_id=uuid.UUID(principal.user_id))
        if account is None:
            raise NotFound("The account no longer exists.")
        return account

    async def _refuse_taken(self, *, email: str, username: str) -> None:
        email_taken, username_taken = await self.repo.taken(email=email, username=username)
        if email_taken:
            raise EmailTaken("An account with this email exists.")
        if username_taken:
            raise UsernameTaken("This username is taken.")

    def _add_refresh_token(self, session_id: uuid.UUID) -> str:
        token, token_hash = new_refresh_token()
        self.db.add(RefreshToken(token_hash=token_hash, session_id=session_id))
        return token

    def _pair(self, account: Account, session_id: uuid.UUID, refresh_token: str) -> TokenPair:
        issuer = self.parts.issuer
        access = issuer.access_token(user_id=account.id, session_id=session_id, roles=account.roles)
        return TokenPair(
            access_token=access, refresh_token=refresh_token, expires_in=issuer.ttl_seconds
        )

    async def _revoke(
        self, account_id: uuid.UUID, session_ids: list[uuid.UUID], *, reason: str
    ) -> None:
        for session_id in session_ids:
            session = await self.repo.session_by_id(session_id=session_id)
            if session is not None and session.revoked_at is None:
                session.revoked_at = datetime.now(UTC)
                session.revoked_reason = reason
        await self._announce_revoked(account_id, session_ids)

    async def _announce_revoked(self, account_id: uuid.UUID, session_ids: list[uuid.UUID]) -> None:
        await announce_revoked(
            self.db, account_id, session_ids, horizon=self.parts.revocation_horizon
        )

    async def _publish(self, event: DomainEvent) -> None:
        await record_event(self.db, EVENT_TABLES.outbox, event, producer=PRODUCER)


async def revoked_sessions(db: AsyncSession, *, horizon: timedelta) -> dict[str, float]:
    """Sessions revoked within `horizon` (older ones have no live token left), with their end."""
    rows = await AuthRepository(db).revoked_since(since=datetime.now(UTC) - horizon)
    return {str(sid): (revoked_at + horizon).timestamp() for sid, revoked_at in rows}


async def delete_account(db: AsyncSession, *, user_id: uuid.UUID, horizon: timedelta) -> None:
    """On `user.deleted`: revoke every session, then remove the credentials (the consumer
    commits, together with its inbox row)."""
    repo = AuthRepository(db)
    revoked = await repo.revoke_sessions(account_id=user_id, reason="account_deleted")
    await announce_revoked(db, user_id, revoked, horizon=horizon)
    await repo.delete_account(account_id=user_id)


async def announce_revoked(
    db: AsyncSession, account_id: uuid.UUID, session_ids: list[uuid.UUID], *, horizon: timedelta
) -> None:
    """Every replica of every service refuses these sessions' tokens within moments."""
    until = datetime.now(UTC) + horizon
    for session_id in session_ids:
        event = SessionRevoked(session_id=session_id, user_id=account_id, expires_at=until)
        await record_event(db, EVENT_TABLES.outbox, event, producer=PRODUCER)
