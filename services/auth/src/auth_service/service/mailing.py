"""Mail that must not be lost: queued in the transaction of the change that asks for it, sent by
auth's own consumer of `mail.queued`, so an SMTP outage delays mail but loses none."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from sqlalchemy.ext.asyncio import AsyncSession

from auth_service.errors import InvalidEmailToken, MailThrottled
from auth_service.issuer import hash_opaque_token, new_opaque_token
from auth_service.limits import HourlyBudget
from auth_service.mail import Mail, SmtpMailer
from auth_service.models import Account
from auth_service.repository import AuthRepository
from auth_service.service.hashing import unless_busy
from shared.contracts import MailQueued

VERIFY = "verify"
RESET = "reset"


@dataclass(frozen=True)
class LinkRules:
    """Where links point and how long their tokens live."""

    public_url: str
    verify_ttl: timedelta = timedelta(hours=24)
    reset_ttl: timedelta = timedelta(minutes=30)

    def link(self, path: str, token: str) -> str:
        return f"{self.public_url.rstrip('/')}{path}?{urlencode({'token': token})}"


async def within_budget(
    budget: HourlyBudget, detail: str, *, account: str | None = None, address: str | None = None
) -> None:
    """Spend one use of `budget` for the keys given; 429 (with Retry-After) when it is spent."""
    spent = await unless_busy(budget.spend(account=account, address=address))
    if not spent.allowed:
        raise MailThrottled(detail, headers={"Retry-After": str(spent.retry_after)})


class MailQueue:
    """Queues mail and single-use tokens in the caller's transaction (the caller commits)."""

    def __init__(self, *, repo: AuthRepository, rules: LinkRules) -> None:
        self._repo = repo
        self.rules = rules

    async def queue(self, *, recipient: str, mail: Mail) -> None:
        mail_id = await self._repo.insert_mail(
            recipient=recipient, subject=mail.subject, text=mail.text, html=mail.html
        )
        await self._repo.record(event=MailQueued(mail_id=mail_id))

    async def spend_token(self, *, token: str, purpose: str, now: datetime) -> Account:
        """The account a live token of `purpose` was sent to, at its current address; the token
        (and every older one of the account for `purpose`) dies here."""
        row = await self._repo.email_token_for_update(
            token_hash=hash_opaque_token(token), purpose=purpose
        )
        account = None
        if row is not None and row.used_at is None and row.expires_at > now:
            account = await self._repo.account_by_id(account_id=row.account_id)
        if account is None or row is None or account.email != row.email:
            raise InvalidEmailToken("The link is unknown, used or expired: ask for a new one.")
        await self._repo.use_email_tokens(account_id=account.id, purpose=purpose, at=now)
        return account

    async def new_token(self, *, account: Account, purpose: str) -> str:
        """A random token for `purpose`; only its hash is stored, with the address it goes to."""
        ttl = self.rules.verify_ttl if purpose == VERIFY else self.rules.reset_ttl
        token, token_hash = new_opaque_token()
        await self._repo.insert_email_token(
            token_hash=token_hash,
            account_id=account.id,
            purpose=purpose,
            email=account.email,
            expires_at=datetime.now(UTC) + ttl,
        )
        return token


class MailDelivery:
    """Sends a queued message; runs in the consumer's transaction (never commits itself)."""

    def __init__(self, *, session: AsyncSession, mailer: SmtpMailer) -> None:
        self._repo = AuthRepository(session=session)
        self._mailer = mailer

    async def deliver(self, *, mail_id: uuid.UUID) -> None:
        """Send it and forget it; a failure raises, and the event machinery retries."""
        queued = await self._repo.mail_for_update(mail_id=mail_id)
        if queued is None:
            return  # already sent: this is a redelivery
        mail = Mail(subject=queued.subject, text=queued.text_body, html=queued.html_body)
        await self._mailer.send(recipient=queued.recipient, mail=mail)
        await self._repo.delete_mail(mail=queued)
