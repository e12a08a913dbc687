"""Logins and refreshes: credentials and refresh tokens in, a token pair out."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NoReturn

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.devices import DeviceTokens
from auth_service.errors import (
    AccountDisabled,
    EmailNotVerified,
    InvalidCredentials,
    InvalidMfaCode,
    InvalidMfaToken,
    InvalidRefreshToken,
    LoginThrottled,
    MfaRequired,
    RefreshTokenReused,
)
from auth_service.issuer import TokenIssuer, hash_opaque_token, new_opaque_token
from auth_service.metrics import LOGIN_THROTTLED, LOGINS
from auth_service.mfa_challenges import MfaChallenges
from auth_service.models import Account, Session
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo, EventType, SecurityLog
from auth_service.service.hashing import Passwords, unless_busy
from auth_service.service.mfa import accept_second_factor
from auth_service.service.revoking import SessionRevoker, SessionRules
from auth_service.throttle import Decision, LoginThrottle


@dataclass(frozen=True)
class IssuedTokens:
    """An access token, the refresh token that renews it, and the access token's lifetime; a
    login adds the device token that makes this client known to the account."""

    access_token: str
    refresh_token: str
    expires_in: int
    device_token: str | None = None
    rate_limit: Mapping[str, str] = dataclasses.field(default_factory=dict)
    """The RateLimit header fields of a login (the client's budget of wrong passwords)."""


class LoginService:
    """Opens sessions from credentials and renews them from rotating refresh tokens."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        passwords: Passwords,
        throttle: LoginThrottle,
        issuer: TokenIssuer,
        rules: SessionRules,
        devices: DeviceTokens,
        challenges: MfaChallenges,
        require_verified_email: bool = False,
    ) -> None:
        self._session = session
        self._passwords = passwords
        self._throttle = throttle
        self._issuer = issuer
        self._rules = rules
        self._devices = devices
        self._challenges = challenges
        self._require_verified_email = require_verified_email
        self._accounts = AuthRepository(session=session)
        self._revoker = SessionRevoker(repo=self._accounts, rules=rules)

    async def login(
        self, *, login: str, password: str, client: ClientInfo, device_token: str | None = None
    ) -> IssuedTokens:
        """Throttled per device token, or for unknown clients per account and address; unknown
        users cost the same time as wrong passwords. A success makes the client known."""
        account = await self._accounts.account_by_login(login=login)
        key = str(account.id) if account else f"unknown:{login.strip().lower()}"
        device = self._devices.read(device_token)
        known = device.device_id if device and account and device.account_id == account.id else None
        decision = await unless_busy(
            self._throttle.check(account=key, address=client.address, device=known)
        )
        if not decision.allowed:
            LOGINS.labels(outcome="throttled").inc()
            LOGIN_THROTTLED.labels(reason=decision.reason or "unknown").inc()
            await self._log_failure(
                "login_throttled", account, client, reason=decision.reason or "unknown"
            )
            raise LoginThrottled(
                "Too many login attempts; retry later.",
                headers={
                    "Retry-After": str(decision.retry_after),
                    **self._throttle.budget_headers(decision, failed=True),
                },
            )
        if account is None:
            await self._passwords.verify_nobody(password)
        if account is None or not await self._passwords.verify(account.password_hash, password):
            await unless_busy(
                self._throttle.record_failure(
                    account=key, address=client.address, decision=decision
                )
            )
            LOGINS.labels(outcome="invalid_credentials").inc()
            reason = "invalid_password" if account else "unknown_account"
            await self._log_failure("login_failed", account, client, reason=reason)
            raise InvalidCredentials(
                "Wrong username or password.",
                headers=self._throttle.budget_headers(decision, failed=True),
            )
        # Only after the password matched: a wrong one must not learn the account's state.
        if account.disabled_at is not None:
            LOGINS.labels(outcome="account_disabled").inc()
            await self._log_failure("login_failed", account, client, reason="account_disabled")
            raise AccountDisabled("This account is disabled; ask an administrator.")
        if self._require_verified_email and account.email_verified_at is None:
            LOGINS.labels(outcome="email_not_verified").inc()
            await self._log_failure("login_failed", account, client, reason="email_not_verified")
            raise EmailNotVerified("Confirm your email address first (see the mail we sent).")
        await unless_busy(
            self._throttle.record_success(account=key, address=client.address, decision=decision)
        )
        if self._passwords.needs_rehash(account.password_hash):
            password_hash = await self._passwords.hash(password)
            await self._accounts.set_password_hash(account=account, password_hash=password_hash)
        if account.totp_enabled_at is not None:
            await self._session.commit()  # a rehash, if any
            await self._mfa_required(account, amr="pwd")
        LOGINS.labels(outcome="success").inc()
        return await self._open_session(account, client, known, decision, amr=["pwd"])

    async def complete_mfa(
        self, *, mfa_token: str, code: str, client: ClientInfo, device_token: str | None = None
    ) -> IssuedTokens:
        """The second step: a live `mfa_token` and a TOTP or recovery code, each good once;
        wrong codes are throttled like wrong passwords and end the token after five."""
        pending = await unless_busy(self._challenges.pending(mfa_token))
        if pending is None:
            raise InvalidMfaToken("The login expired or was completed; log in again.")
        account_id, first_factor = pending
        account = await self._accounts.account_by_id(account_id=account_id, for_update=True)
        if account is None or account.disabled_at is not None or account.totp_enabled_at is None:
            raise InvalidMfaToken("The login expired or was completed; log in again.")
        key = str(account.id)
        device = self._devices.read(device_token)
        known = device.device_id if device and device.account_id == account.id else None
        decision = await unless_busy(
            self._throttle.check(account=key, address=client.address, device=known)
        )
        if not decision.allowed:
            await self._log_failure("login_throttled", account, client, reason="mfa")
            raise LoginThrottled(
                "Too many attempts; retry later.",
                headers={"Retry-After": str(decision.retry_after)},
            )
        if not await accept_second_factor(self._accounts, account, code):
            await unless_busy(
                self._throttle.record_failure(
                    account=key, address=client.address, decision=decision
                )
            )
            await unless_busy(self._challenges.failed(mfa_token))
            LOGINS.labels(outcome="invalid_mfa_code").inc()
            await self._log_failure("login_failed", account, client, reason="invalid_mfa_code")
            raise InvalidMfaCode("The code is not valid.")
        if not await unless_busy(self._challenges.consume(mfa_token)):
            raise InvalidMfaToken("The login expired or was completed; log in again.")
        LOGINS.labels(outcome="success").inc()
        return await self._open_session(account, client, known, decision, amr=[first_factor, "otp"])

    @property
    def log(self) -> SecurityLog:
        return self._revoker.log

    async def federated(self, account: Account, client: ClientInfo) -> IssuedTokens:
        """A provider vouched for the account: the same checks as after a matching password
        (disabled, unverified email, a second factor), then a session with `amr: ["fed"]`."""
        if account.disabled_at is not None:
            await self._log_failure("login_failed", account, client, reason="account_disabled")
            raise AccountDisabled("This account is disabled; ask an administrator.")
        if account.totp_enabled_at is not None:
            await self._session.commit()  # the link, if this sign-in made one
            await self._mfa_required(account, amr="fed")
        LOGINS.labels(outcome="success").inc()
        return await self._open_session(account, client, None, None, amr=["fed"])

    async def _mfa_required(self, account: Account, *, amr: str) -> NoReturn:
        LOGINS.labels(outcome="mfa_required").inc()
        token = await unless_busy(self._challenges.issue(account_id=account.id, amr=amr))
        raise MfaRequired(
            "Enter the code from your authenticator app (or a recovery code).",
            extra={"mfa_token": token, "mfa_expires_in": self._challenges.ttl_seconds},
        )

    async def _open_session(
        self,
        account: Account,
        client: ClientInfo,
        known: str | None,
        decision: Decision | None,
        *,
        amr: list[str],
    ) -> IssuedTokens:
        now = datetime.now(UTC)
        session = Session(
            id=uuid.uuid4(),
            account_id=account.id,
            created_at=now,
            last_used_at=now,
            expires_at=now + self._rules.refresh_ttl,
            user_agent=client.user_agent,
            ip=client.address,
            amr=amr,
        )
        await self._accounts.insert_session(session=session)
        refresh_token = await self._new_refresh_token(session.id)
        await self._revoker.log.record("login_succeeded", account_id=account.id, client=client)
        await self._session.commit()
        tokens = self._tokens(account, session, refresh_token)
        device_token = self._devices.issue(account_id=account.id, device_id=known)
        budget = self._throttle.budget_headers(decision, failed=False) if decision else {}
        return dataclasses.replace(tokens, device_token=device_token, rate_limit=budget)

    async def refresh(self, *, refresh_token: str) -> IssuedTokens:
        """Rotate: the old token dies; a rotated token presented again revokes the session."""
        token_hash = hash_opaque_token(refresh_token)
        row = await self._accounts.refresh_token_for_update(token_hash=token_hash)
        if row is None:
            raise InvalidRefreshToken("The refresh token is not valid.")
        now = datetime.now(UTC)
        session = await self._accounts.session_by_id(session_id=row.session_id, for_update=True)
        if session is None or session.revoked_at is not None or session.expires_at <= now:
            raise InvalidRefreshToken("The refresh token is not valid.")
        if row.rotated_at is not None:
            if now - row.rotated_at <= self._rules.reuse_grace:
                # The same client retrying concurrently: it already got the one new pair.
                raise InvalidRefreshToken("The refresh token was already used.")
            await self._revoker.revoke(
                account_id=session.account_id, reason="refresh_reuse", only=session.id
            )
            await self._session.commit()
            raise RefreshTokenReused("The refresh token was used twice; the session is revoked.")
        account = await self._accounts.account_by_id(account_id=session.account_id)
        if account is None or account.disabled_at is not None:
            raise InvalidRefreshToken("The refresh token is not valid.")
        await self._accounts.mark_used(token=row, session=session, now=now)
        new_token = await self._new_refresh_token(session.id)
        await self._session.commit()
        return self._tokens(account, session, new_token)

    async def _log_failure(
        self, type_: EventType, account: Account | None, client: ClientInfo, *, reason: str
    ) -> None:
        # Committed before the refusal is raised: the request's transaction is then rolled back.
        await self._revoker.log.record(
            type_, account_id=account.id if account else None, client=client, reason=reason
        )
        await self._session.commit()

    async def _new_refresh_token(self, session_id: uuid.UUID) -> str:
        token, token_hash = new_opaque_token()
        await self._accounts.insert_refresh_token(token_hash=token_hash, session_id=session_id)
        return token

    def _tokens(self, account: Account, session: Session, refresh_token: str) -> IssuedTokens:
        access = self._issuer.access_token(
            user_id=account.id,
            session_id=session.id,
            amr=session.amr,
            roles=account.roles,
            email_verified=account.email_verified_at is not None,
        )
        return IssuedTokens(
            access_token=access, refresh_token=refresh_token, expires_in=self._issuer.ttl_seconds
        )
