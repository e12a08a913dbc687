"""Email verification: a single-use link proves the account receives mail at its address."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import EmailAlreadyVerified
from auth_service.limits import HourlyBudget
from auth_service.mail import verification_mail
from auth_service.models import Account
from auth_service.repository import AuthRepository
from auth_service.service.audit import ClientInfo, SecurityLog
from auth_service.service.mailing import VERIFY, LinkRules, MailQueue, within_budget
from shared.contracts import UserEmailVerified
from shared.errors import NotFound
from shared.tokens import Principal

VERIFY_PATH = "/verify-email"


async def queue_verification(queue: MailQueue, account: Account) -> None:
    """A fresh verification link to the account's address (in the caller's transaction)."""
    token = await queue.new_token(account=account, purpose=VERIFY)
    mail = verification_mail(
        username=account.username, link=queue.rules.link(VERIFY_PATH, token), code=token
    )
    await queue.queue(recipient=account.email, mail=mail)


class EmailVerification:
    """Sends verification links (within the hourly budget) and accepts each once."""

    def __init__(
        self,
        *,
        session: AsyncSession,
        links: LinkRules,
        budget: HourlyBudget,
        log_retention: timedelta,
    ) -> None:
        self._session = session
        self._repo = AuthRepository(session=session)
        self._log = SecurityLog(repo=self._repo, retention=log_retention)
        self._queue = MailQueue(repo=self._repo, rules=links)
        self._budget = budget

    async def request(self, *, principal: Principal) -> None:
        """Mail a new link, unless the address is verified already or asked for too often."""
        account = await self._repo.account_by_id(account_id=uuid.UUID(principal.user_id))
        if account is None:
            raise NotFound("The account no longer exists.")
        if account.email_verified_at is not None:
            raise EmailAlreadyVerified("The email address is verified already.")
        await within_budget(
            self._budget,
            "Too many verification mails asked for; retry later.",
            account=str(account.id),
        )
        await queue_verification(self._queue, account)
        await self._session.commit()

    async def verify(self, *, token: str, client: ClientInfo | None = None) -> None:
        """The token must be live and sent to the account's current address; it dies here."""
        now = datetime.now(UTC)
        account = await self._queue.spend_token(token=token, purpose=VERIFY, now=now)
        if account.email_verified_at is None:
            await self._repo.set_email_verified(account=account, at=now)
            await self._repo.record(
                event=UserEmailVerified(user_id=account.id, email=account.email)
            )
            await self._log.record("email_verified", account_id=account.id, client=client)
        await self._session.commit()
