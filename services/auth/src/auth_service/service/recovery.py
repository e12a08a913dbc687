"""Forgotten passwords: a reset link by mail, a new password with it, every session ended."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.limits import HourlyBudget
from auth_service.mail import password_changed_mail, reset_mail
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo
from auth_service.service.hashing import Passwords
from auth_service.service.mailing import RESET, LinkRules, MailQueue, within_budget
from auth_service.service.revoking import SessionRevoker, SessionRules
from shared.contracts import PasswordResetRequested

RESET_PATH = "/reset-password"


class PasswordRecovery:
    """Never tells whether an email has an account: the request path is the same for both."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        passwords: Passwords,
        rules: SessionRules,
        links: LinkRules,
        budget: HourlyBudget,
        reset_budget: HourlyBudget,
    ) -> None:
        self._session = session
        self._passwords = passwords
        self._repo = AuthRepository(session=session)
        self._revoker = SessionRevoker(repo=self._repo, rules=rules)
        self._queue = MailQueue(repo=self._repo, rules=links)
        self._budget = budget
        self._reset_budget = reset_budget

    async def forgot(self, *, email: str, client: ClientInfo) -> None:
        """Within the budget of the address and of the email, hand the request to the consumer."""
        email = email.strip().lower()
        await within_budget(
            self._budget,
            "Too many reset requests; retry later.",
            account=email,
            address=client.address,
        )
        await self._repo.record(event=PasswordResetRequested(email=email))
        await self._session.commit()

    async def reset(self, *, token: str, new_password: str, client: ClientInfo) -> None:
        """A live reset token sets the password, ends every session and tells the owner."""
        detail = "Too many reset attempts; retry later."
        await within_budget(self._reset_budget, detail, address=client.address)
        account = await self._queue.spend_token(token=token, purpose=RESET, now=datetime.now(UTC))
        await within_budget(self._reset_budget, detail, account=str(account.id))
        self._passwords.check_policy(
            new_password, username=account.username, email=account.email, field="new_password"
        )
        await self._repo.set_password_hash(
            account=account, password_hash=await self._passwords.hash(new_password)
        )
        await self._revoker.revoke(account_id=account.id, reason="password_reset", client=client)
        await self._revoker.log.record("password_reset", account_id=account.id, client=client)
        await self._queue.queue(
            recipient=account.email, mail=password_changed_mail(username=account.username)
        )
        await self._session.commit()


async def mail_reset_link(*, session: AsyncSession, links: LinkRules, email: str) -> None:
    """In the consumer's transaction (never commits): mail a reset link if the account exists."""
    repo = AuthRepository(session=session)
    account = await repo.account_by_email(email=email)
    if account is None:
        return
    queue = MailQueue(repo=repo, rules=links)
    token = await queue.new_token(account=account, purpose=RESET)
    mail = reset_mail(username=account.username, link=links.link(RESET_PATH, token), code=token)
    await queue.queue(recipient=account.email, mail=mail)
