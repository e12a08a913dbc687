"""Two-factor sign-in with TOTP (RFC 6238) and single-use recovery codes."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import pyotp
from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import (
    InvalidCredentials,
    InvalidMfaCode,
    LoginThrottled,
    MfaAlreadyEnabled,
    MfaNotEnabled,
    MfaNotSetUp,
)
from auth_service.models import Account
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.hashing import Passwords, unless_busy
from auth_service.service.revoking import SessionRevoker, SessionRules
from auth_service.throttle import LoginThrottle
from shared.errors import NotFound
from shared.tokens import Principal

ISSUER = "suite"
RECOVERY_CODES = 10
# A code of the previous or the next 30-second step still counts: clocks drift.
DRIFT_STEPS = 1


def _hash_code(code: str) -> bytes:
    return hashlib.sha256(code.strip().lower().replace("-", "").encode()).digest()


async def accept_second_factor(repo: AuthRepository, account: Account, code: str) -> bool:
    """A TOTP code newer than the last one accepted, or an unused recovery code; spent here."""
    code = code.strip()
    if account.totp_secret is None:
        return False
    if code.isdigit() and len(code) == 6:
        totp = pyotp.TOTP(account.totp_secret)
        now = datetime.now(UTC)
        current = totp.timecode(now)
        for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
            if step <= (account.totp_last_step or -1):
                continue  # replay of an accepted code, or an older one
            if secrets.compare_digest(totp.generate_otp(step), code):
                account.totp_last_step = step
                return True
        return False
    return await repo.use_recovery_code(account_id=account.id, code_hash=_hash_code(code))


class TotpService:
    """Sets up, turns on and turns off the caller's TOTP second factor."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        passwords: Passwords,
        rules: SessionRules,
        throttle: LoginThrottle,
    ) -> None:
        self._session = session
        self._passwords = passwords
        self._throttle = throttle
        self._repo = AuthRepository(session=session)
        self._log = SessionRevoker(repo=self._repo, rules=rules).log

    async def setup(self, *, principal: Principal) -> tuple[str, str]:
        """A new secret and its otpauth:// URI; not in force until `enable` sees a code of it."""
        account = await self._account(principal)
        if account.totp_enabled_at is not None:
            raise MfaAlreadyEnabled("Two-factor sign-in is on already; turn it off first.")
        account.totp_secret = pyotp.random_base32()
        account.totp_last_step = None
        await self._session.commit()
        uri = pyotp.TOTP(account.totp_secret).provisioning_uri(
            name=account.email, issuer_name=ISSUER
        )
        return account.totp_secret, uri

    async def enable(
        self, *, principal: Principal, code: str, client: ClientInfo | None = None
    ) -> Sequence[str]:
        """A code of the new secret turns it on; returns 10 single-use recovery codes (shown
        once: only their hashes are kept)."""
        account = await self._account(principal)
        if account.totp_enabled_at is not None:
            raise MfaAlreadyEnabled("Two-factor sign-in is on already.")
        if account.totp_secret is None:
            raise MfaNotSetUp("Call /mfa/totp/setup first.")
        if not code.strip().isdigit() or not await accept_second_factor(self._repo, account, code):
            raise InvalidMfaCode("The code is not valid; check the authenticator's clock.")
        account.totp_enabled_at = datetime.now(UTC)
        codes = [f"{secrets.token_hex(4)}-{secrets.token_hex(4)}" for _ in range(RECOVERY_CODES)]
        await self._repo.replace_recovery_codes(
            account_id=account.id, code_hashes=[_hash_code(c) for c in codes]
        )
        await self._log.record("mfa_enabled", account_id=account.id, client=client)
        await self._session.commit()
        return codes

    async def disable(
        self, *, principal: Principal, password: str, code: str, client: ClientInfo | None = None
    ) -> None:
        """Both the password and a current code (or a recovery code) are needed to turn it off;
        wrong ones count in the login throttle, so this is no way around its limits."""
        account = await self._account(principal)
        if account.totp_enabled_at is None:
            raise MfaNotEnabled("Two-factor sign-in is not on.")
        key, address = str(account.id), client.address if client else "unknown"
        decision = await unless_busy(
            self._throttle.check(account=key, address=address, device=None)
        )
        if not decision.allowed:
            raise LoginThrottled(
                "Too many attempts; retry later.",
                headers={"Retry-After": str(decision.retry_after)},
            )
        if not await self._passwords.verify(
            account.password_hash, password
        ) or not await accept_second_factor(self._repo, account, code):
            await unless_busy(
                self._throttle.record_failure(account=key, address=address, decision=decision)
            )
            raise InvalidCredentials("The password or the code is wrong.")
        account.totp_secret = None
        account.totp_enabled_at = None
        account.totp_last_step = None
        await self._repo.replace_recovery_codes(account_id=account.id, code_hashes=[])
        await self._log.record("mfa_disabled", account_id=account.id, client=client)
        await self._session.commit()

    async def _account(self, principal: Principal) -> Account:
        account = await self._repo.account_by_id(account_id=uuid.UUID(principal.user_id))
        if account is None:
            raise NotFound("The account no longer exists.")
        return account
